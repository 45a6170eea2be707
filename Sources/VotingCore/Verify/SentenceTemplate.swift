/// `{name}` templates, the one fill rule of every sentence of the tools: the verifiers'
/// failures (audit, receipt checks) are templates filled with named values, so a tool can
/// word the same failure in another language from its code and values.
public enum SentenceTemplate {
    /// Replaces each `{name}` once, left to right, so a value that contains braces is never
    /// read as a placeholder; an unknown `{name}` is left as written.
    public static func fill(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            out.append(contentsOf: rest[..<open])
            let after = rest[rest.index(after: open)...]
            if let close = after.firstIndex(of: "}"), let value = values[String(after[..<close])] {
                out += value
                rest = after[after.index(after: close)...]
            } else {
                out.append("{")
                rest = after
            }
        }
        out.append(contentsOf: rest)
        return out
    }

    /// The `{name}` placeholders of a template.
    public static func placeholders(_ template: String) -> Set<String> {
        var names: Set<String> = []
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            let name = after[..<close]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { names.insert(String(name)) }
            rest = after[after.index(after: close)...]
        }
        return names
    }
}
