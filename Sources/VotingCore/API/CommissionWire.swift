/// JSON bodies of the commission's, the registrar's and the polling stations' routes
/// (docs/openapi.yaml). Requests reject unknown fields; all bytes are lowercase hex.

/// `POST /v1/commission/trustees`: a trustee's self-signed registration and the commission's
/// appointment signature over it (both logged).
public struct TrusteeAppointmentBody: Codable, Sendable {
    public let registration: TrusteeRegistration
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable { case registration, signature }

    public init(registration: TrusteeRegistration, signature: Ed25519Signature) {
        self.registration = registration
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        registration = try c.decode(TrusteeRegistration.self, forKey: .registration)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }
}

/// `POST /v1/commission/stations`: a polling station and the commission's appointment signature.
public struct StationAppointmentBody: Codable, Sendable {
    public let station: StationRegistration
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable { case station, signature }

    public init(station: StationRegistration, signature: Ed25519Signature) {
        self.station = station
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        station = try c.decode(StationRegistration.self, forKey: .station)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }
}

/// `POST /v1/commission/roll/lookup` and `POST /v1/stations/lookup`: one personal number.
public struct PersonalNumberBody: Codable, Sendable {
    public let personalNumber: String

    enum CodingKeys: String, CodingKey, CaseIterable { case personalNumber = "personal_number" }

    public init(personalNumber: String) { self.personalNumber = personalNumber }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        personalNumber = try c.decode(String.self, forKey: .personalNumber)
    }
}

/// Answer to the registrar's roll lookup: the entry's district and current code commitment,
/// and whether the voter has enrolled or voted (a reissue is refused once the voter voted).
public struct RollEntryResponse: Codable, Sendable {
    public let district: String
    public let commitment: CodeCommitment
    public let enrolled: Bool
    public let voted: Bool

    public init(district: String, commitment: CodeCommitment, enrolled: Bool, voted: Bool) {
        self.district = district
        self.commitment = commitment
        self.enrolled = enrolled
        self.voted = voted
    }
}

/// The registrar's reissue order as JSON (`CodeReissue`).
public struct CodeReissueWire: Codable, Sendable {
    public let district: String
    public let replaces: Digest
    public let commitment: CodeCommitment
    public let issuedAt: Timestamp

    enum CodingKeys: String, CodingKey, CaseIterable {
        case district, replaces, commitment
        case issuedAt = "issued_at"
    }

    public init(_ order: CodeReissue) {
        district = order.district
        replaces = order.replaces
        commitment = order.commitment
        issuedAt = order.issuedAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        district = try c.decode(String.self, forKey: .district)
        replaces = try c.decode(Digest.self, forKey: .replaces)
        commitment = try c.decode(CodeCommitment.self, forKey: .commitment)
        issuedAt = try c.decode(Timestamp.self, forKey: .issuedAt)
    }

    public var order: CodeReissue { CodeReissue(district: district, replaces: replaces, commitment: commitment, issuedAt: issuedAt) }
}

/// `POST /v1/commission/reissue`.
public struct ReissueBody: Codable, Sendable {
    public let personalNumber: String
    public let order: CodeReissueWire
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable {
        case personalNumber = "personal_number"
        case order, signature
    }

    public init(personalNumber: String, order: CodeReissue, signature: Ed25519Signature) {
        self.personalNumber = personalNumber
        self.order = CodeReissueWire(order)
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        personalNumber = try c.decode(String.self, forKey: .personalNumber)
        order = try c.decode(CodeReissueWire.self, forKey: .order)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }
}

/// Answer to a reissue: where it was logged and the voter key it revoked, if any.
public struct ReissueResponse: Codable, Sendable {
    public let logIndex: UInt64
    public let revokedKey: Ed25519PublicKey?

    enum CodingKeys: String, CodingKey {
        case logIndex = "log_index"
        case revokedKey = "revoked_key"
    }

    public init(logIndex: UInt64, revokedKey: Ed25519PublicKey?) {
        self.logIndex = logIndex
        self.revokedKey = revokedKey
    }
}

/// Answer to a station's lookup: the voter's district (the ballot the station must show).
public struct StationLookupResponse: Codable, Sendable {
    public let district: String
    public init(district: String) { self.district = district }
}

/// `POST /v1/stations/ballots`: a supervised ballot for the voter with this personal number
/// (checked against an identity document by the poll worker), signed by the station.
public struct SupervisedBallotBody: Codable, Sendable {
    public let personalNumber: String
    public let ballot: BallotWire
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable {
        case personalNumber = "personal_number"
        case ballot, signature
    }

    public init(personalNumber: String, ballot: BallotWire, signature: Ed25519Signature) {
        self.personalNumber = personalNumber
        self.ballot = ballot
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        personalNumber = try c.decode(String.self, forKey: .personalNumber)
        ballot = try c.decode(BallotWire.self, forKey: .ballot)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }
}

/// Answer to a supervised ballot: its receipt (kind `supervised`) and, for the voter at the
/// station only, the tracking code of the remote ballot it supersedes.
public struct SupervisedResponse: Codable, Sendable {
    public let trackingCode: TrackingCode
    public let shortCode: String
    public let logged: LoggedReceipt
    public let superseded: TrackingCode?

    enum CodingKeys: String, CodingKey {
        case trackingCode = "tracking_code"
        case shortCode = "short_code"
        case logged, superseded
    }

    public init(trackingCode: TrackingCode, logged: LoggedReceipt, superseded: TrackingCode?) {
        self.trackingCode = trackingCode
        self.shortCode = trackingCode.short
        self.logged = logged
        self.superseded = superseded
    }
}

extension CodeCommitment {
    enum CodingKeys: String, CodingKey, CaseIterable { case salt, value }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        self.init(salt: try c.decode(Salt.self, forKey: .salt), value: try c.decode(Digest.self, forKey: .value))
    }
}
