import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import VotingCore

/// A self-signed X.509 v3 certificate and its P-256 key, made with libcrypto, for serving
/// HTTPS in test elections (`ballot-server tls-cert`). The certificate is its own CA
/// (basicConstraints CA:TRUE), so clients trust exactly it with `--ca-file`.
struct SelfSignedCertificate {
    /// PEM of the certificate.
    let certificatePEM: String
    /// PEM of the private key (PKCS#8).
    let privateKeyPEM: String
    /// SHA-256 of the DER certificate.
    let fingerprint: Digest
    let notAfter: Date

    struct Failure: Error, CustomStringConvertible {
        let call: String
        var description: String {
            var detail: [String] = []
            while case let code = ERR_get_error(), code != 0 {
                var buffer = [CChar](repeating: 0, count: 256)
                ERR_error_string_n(code, &buffer, buffer.count)
                detail.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            return "\(call) failed\(detail.isEmpty ? "" : ": " + detail.joined(separator: "; "))"
        }
    }

    /// Whether `name` is an IPv4 or IPv6 address (it goes into the SAN as IP:, else DNS:).
    static func isIPAddress(_ name: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, name, &v4) == 1 || inet_pton(AF_INET6, name, &v6) == 1
    }

    /// A name is an IP address or a DNS name of letters, digits, '-', '.' and '*'.
    static func isValidName(_ name: String) -> Bool {
        if isIPAddress(name) { return true }
        return !name.isEmpty && name.utf8.count <= 253
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "*") }
    }

    static func make(names: [String], days: Int, now: Date = Date()) throws -> SelfSignedCertificate {
        guard let first = names.first, names.allSatisfy(isValidName), (1...3650).contains(days) else {
            throw Failure(call: "names and days")
        }
        guard let key = evote_ec_p256_keygen() else { throw Failure(call: "EVP_EC_gen") }
        defer { EVP_PKEY_free(key) }
        guard let cert = X509_new() else { throw Failure(call: "X509_new") }
        defer { X509_free(cert) }

        guard X509_set_version(cert, 2) == 1 else { throw Failure(call: "X509_set_version") }
        // A positive 127-bit random serial (RFC 5280 §4.1.2.2).
        var serial = try SecureRandom.bytes(16)
        serial[0] &= 0x7f
        serial[0] |= 0x01
        guard let bn = BN_bin2bn(serial, Int32(serial.count), nil) else { throw Failure(call: "BN_bin2bn") }
        defer { BN_free(bn) }
        guard BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nil else { throw Failure(call: "BN_to_ASN1_INTEGER") }
        let start = time_t(now.timeIntervalSince1970) - 3600
        let end = time_t(now.timeIntervalSince1970) + time_t(days) * 86_400
        var startT = start
        var endT = end
        guard X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &startT) != nil,
              X509_time_adj_ex(X509_getm_notAfter(cert), 0, 0, &endT) != nil else { throw Failure(call: "X509_time_adj_ex") }
        guard X509_set_pubkey(cert, key) == 1 else { throw Failure(call: "X509_set_pubkey") }
        guard let subject = X509_get_subject_name(cert),
              X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, first, -1, -1, 0) == 1,
              X509_set_issuer_name(cert, subject) == 1 else { throw Failure(call: "X509_NAME_add_entry_by_txt") }

        var ctx = X509V3_CTX()
        X509V3_set_ctx(&ctx, cert, cert, nil, nil, 0)
        let san = names.map { (isIPAddress($0) ? "IP:" : "DNS:") + $0 }.joined(separator: ",")
        let extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:TRUE"),
            (NID_key_usage, "critical,digitalSignature,keyCertSign"),
            (NID_ext_key_usage, "serverAuth"),
            (NID_subject_key_identifier, "hash"),
            (NID_subject_alt_name, san),
        ]
        for (nid, value) in extensions {
            guard let ext = X509V3_EXT_conf_nid(nil, &ctx, nid, value) else { throw Failure(call: "X509V3_EXT_conf_nid(\(nid))") }
            defer { X509_EXTENSION_free(ext) }
            guard X509_add_ext(cert, ext, -1) == 1 else { throw Failure(call: "X509_add_ext") }
        }
        guard X509_sign(cert, key, EVP_sha256()) > 0 else { throw Failure(call: "X509_sign") }

        let certificatePEM = try pem { PEM_write_bio_X509($0, cert) }
        let keyPEM = try pem { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) }
        let derLength = i2d_X509(cert, nil)
        guard derLength > 0 else { throw Failure(call: "i2d_X509") }
        var der = [UInt8](repeating: 0, count: Int(derLength))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var out = buffer.baseAddress
            return i2d_X509(cert, &out)
        }
        guard written == derLength else { throw Failure(call: "i2d_X509") }
        return SelfSignedCertificate(certificatePEM: certificatePEM, privateKeyPEM: keyPEM, fingerprint: SHA256.hash(der),
                                     notAfter: Date(timeIntervalSince1970: TimeInterval(end)))
    }

    /// Runs a PEM writer into a memory BIO and returns what it wrote.
    private static func pem(_ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw Failure(call: "BIO_new") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw Failure(call: "PEM_write_bio") }
        let pending = Int(BIO_ctrl_pending(bio))
        var bytes = [UInt8](repeating: 0, count: pending)
        let read = BIO_read(bio, &bytes, Int32(pending))
        guard read == pending else { throw Failure(call: "BIO_read") }
        return String(decoding: bytes, as: UTF8.self)
    }
}
