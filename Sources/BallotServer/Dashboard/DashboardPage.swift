/// The observer dashboard served at `GET /`: one self-contained page (no external scripts,
/// fonts or styles; works offline). It polls `GET /v1/status` (numbers counted from the log),
/// checks the checkpoint's and the results' Ed25519 signatures against the server key of log
/// entry 0 and a ballot's inclusion proof in the browser (WebCrypto), and speaks Kyrgyz,
/// Russian and English.
///
/// The page is `Resources/web/dashboard.html` and its sentences `Resources/web/{ky,ru,en}.json`
/// (`Translations`), all compiled into the binary (`.embedInCode`): editable as HTML and JSON,
/// with no bundle to look up at run time.
enum DashboardPage {
    static let html = template.replacingOccurrences(of: "__TRANSLATIONS__", with: Translations.scriptJSON())

    /// The page with `__TRANSLATIONS__` where the sentences of every language go. Visible text
    /// carries `data-i18n="key"`; the script fills it in the chosen language.
    static let template = String(decoding: PackageResources.dashboard_html, as: UTF8.self)
}
