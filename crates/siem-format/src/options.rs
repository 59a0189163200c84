//! Encoder options as configuration gives them, and their validation.

use serde::Deserialize;

use crate::json::ProductInfo;
use crate::text::{has_unsafe_char, is_unsafe_char};
use crate::FormatError;

/// Options for every encoder; each format reads the ones that concern it.
///
/// In configuration (TOML shown; unknown keys are refused):
///
/// ```toml
/// vendor = "ACGS-2"                 # CEF/LEEF header, JSON `_siem`, ECS observer, OCSF product
/// product = "EnhancedAgentBus"
/// version = "2.4.0"
/// facility = "daemon"               # syslog facility: a name (local0 … local7, auth, authpriv, daemon, …) or 0-23
/// sd_id = "acgs2@12345"             # RFC 5424 SD-ID: name@PEN
/// app_name = "EnhancedAgentBus"     # syslog APP-NAME / TAG; default: the event's app, else the product
/// bom = false                       # RFC 5424: start MSG with the UTF-8 BOM
/// body = "cef"                      # syslog MSG: message | cef | leef1 | leef2 | json
/// leef_delimiter = "^"              # LEEF 2.0: one character, or 0x.. / x.. (1-4 hex digits)
/// hostname = "web01"                # used when an event carries no host
/// hec_index = "security"            # Splunk HEC envelope
/// hec_source = "tracing-siem"
/// hec_sourcetype = "_json"
/// hec_event = "json"                # HEC `event`: json | ecs | ocsf
/// signature = "canonical"           # CEF Signature ID / Name, LEEF EventID, RFC 5424 MSGID: canonical | original
/// ```
///
/// ```
/// use siem_format::{BodyFormat, FormatOptions};
/// let o = FormatOptions::default();
/// assert_eq!(o.vendor, "tracing-siem");
/// assert_eq!(o.body, BodyFormat::Message);
/// let o: FormatOptions = serde_json::from_str(r#"{"facility": 3, "body": "cef"}"#).unwrap();
/// assert_eq!(o.body, BodyFormat::Cef);
/// assert!(serde_json::from_str::<FormatOptions>(r#"{"facilty": 3}"#).is_err());
/// ```
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct FormatOptions {
    /// Vendor (CEF Device Vendor ≤ 63 bytes, LEEF Vendor). Default `tracing-siem`.
    pub vendor: String,
    /// Product (CEF Device Product ≤ 63 bytes, LEEF Product). Default `tracing-siem`.
    pub product: String,
    /// Product version (CEF Device Version ≤ 31 bytes). Default: this crate's version.
    pub version: String,
    /// Host name for events that carry none (syslog HOSTNAME, HEC `host`, JSON `_siem.hostname`).
    pub hostname: Option<String>,
    /// Syslog facility, by name or number. Default `local0`.
    pub facility: FacilitySetting,
    /// RFC 5424 SD-ID of our structured data element, `name@PEN`. Default `tracingSiem@32473`
    /// (32473 is the documentation enterprise number of RFC 5612: set your own in production).
    pub sd_id: String,
    /// Syslog APP-NAME (RFC 5424, ≤ 48 printable ASCII) and TAG (RFC 3164). Default: the
    /// event's app, else the product.
    pub app_name: Option<String>,
    /// Whether RFC 5424 MSG starts with the UTF-8 byte order mark (RFC 5424 §6.4 asks for it
    /// when MSG is UTF-8; many receivers show it as garbage, so it is off by default).
    pub bom: bool,
    /// What the syslog formats carry as MSG. Default: the plain message.
    pub body: BodyFormat,
    /// LEEF 2.0 attribute delimiter: one character, or its code as `0x5E` / `x5E`. Default `^`.
    pub leef_delimiter: String,
    /// Splunk HEC `index` (left out by default: the token's default index).
    pub hec_index: Option<String>,
    /// Splunk HEC `source` (left out by default).
    pub hec_source: Option<String>,
    /// Splunk HEC `sourcetype`. Default `_json`.
    pub hec_sourcetype: Option<String>,
    /// What the Splunk HEC envelope carries as `event`. Default: the canonical JSON.
    pub hec_event: HecEventFormat,
    /// Which spelling of the event type names the event where a SIEM keys its signatures
    /// (CEF Signature ID and Name, LEEF EventID, RFC 5424 MSGID). Default: the canonical type.
    pub signature: SignatureName,
}

impl FormatOptions {
    /// Sets `vendor`: vendor (CEF Device Vendor ≤ 63 bytes, LEEF Vendor).
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().vendor("Acme");
    /// assert_eq!(c.vendor, "Acme");
    /// ```
    pub fn vendor(mut self, vendor: impl Into<String>) -> FormatOptions {
        self.vendor = vendor.into();
        self
    }

    /// Sets `product`: product (CEF Device Product ≤ 63 bytes, LEEF Product).
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().product("Gateway");
    /// assert_eq!(c.product, "Gateway");
    /// ```
    pub fn product(mut self, product: impl Into<String>) -> FormatOptions {
        self.product = product.into();
        self
    }

    /// Sets `version`: product version (CEF Device Version ≤ 31 bytes).
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().version("2.1");
    /// assert_eq!(c.version, "2.1");
    /// ```
    pub fn version(mut self, version: impl Into<String>) -> FormatOptions {
        self.version = version.into();
        self
    }

    /// Sets `hostname`: host name for events that carry none (syslog HOSTNAME, HEC `host`, JSON `_siem.hostname`).
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().hostname("web-1");
    /// assert_eq!(c.hostname.as_deref(), Some("web-1"));
    /// ```
    pub fn hostname(mut self, hostname: impl Into<String>) -> FormatOptions {
        self.hostname = Some(hostname.into());
        self
    }

    /// Sets `facility`: syslog facility, by name or number.
    ///
    /// ```
    /// use siem_format::FacilitySetting;
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().facility(FacilitySetting::Name("local4".into()));
    /// assert_eq!(c.facility.code(), Ok(20));
    /// ```
    pub fn facility(mut self, facility: FacilitySetting) -> FormatOptions {
        self.facility = facility;
        self
    }

    /// Sets `sd_id`: RFC 5424 SD-ID of our structured data element, `name@PEN`.
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().sd_id("siem@32473");
    /// assert_eq!(c.sd_id, "siem@32473");
    /// ```
    pub fn sd_id(mut self, sd_id: impl Into<String>) -> FormatOptions {
        self.sd_id = sd_id.into();
        self
    }

    /// Sets `app_name`: syslog APP-NAME (RFC 5424, ≤ 48 printable ASCII) and TAG (RFC 3164).
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().app_name("gateway");
    /// assert_eq!(c.app_name.as_deref(), Some("gateway"));
    /// ```
    pub fn app_name(mut self, app_name: impl Into<String>) -> FormatOptions {
        self.app_name = Some(app_name.into());
        self
    }

    /// Sets `bom`: whether RFC 5424 MSG starts with the UTF-8 byte order mark (RFC 5424 §6.4 asks for it when MSG is UTF-8; many receivers show it as garbage, so it is off by default).
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().bom(true);
    /// assert!(c.bom);
    /// ```
    pub fn bom(mut self, bom: bool) -> FormatOptions {
        self.bom = bom;
        self
    }

    /// Sets `body`: what the syslog formats carry as MSG.
    ///
    /// ```
    /// use siem_format::BodyFormat;
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().body(BodyFormat::Cef);
    /// assert_eq!(c.body, BodyFormat::Cef);
    /// ```
    pub fn body(mut self, body: BodyFormat) -> FormatOptions {
        self.body = body;
        self
    }

    /// Sets `leef_delimiter`: LEEF 2.0 attribute delimiter: one character, or its code as `0x5E` / `x5E`.
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().leef_delimiter("^");
    /// assert_eq!(c.leef_delimiter, "^");
    /// ```
    pub fn leef_delimiter(mut self, leef_delimiter: impl Into<String>) -> FormatOptions {
        self.leef_delimiter = leef_delimiter.into();
        self
    }

    /// Sets `hec_index`: splunk HEC `index` (left out by default: the token's default index).
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().hec_index("security");
    /// assert_eq!(c.hec_index.as_deref(), Some("security"));
    /// ```
    pub fn hec_index(mut self, hec_index: impl Into<String>) -> FormatOptions {
        self.hec_index = Some(hec_index.into());
        self
    }

    /// Sets `hec_source`: splunk HEC `source` (left out by default).
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().hec_source("gateway");
    /// assert_eq!(c.hec_source.as_deref(), Some("gateway"));
    /// ```
    pub fn hec_source(mut self, hec_source: impl Into<String>) -> FormatOptions {
        self.hec_source = Some(hec_source.into());
        self
    }

    /// Sets `hec_sourcetype`: splunk HEC `sourcetype`.
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// let c = FormatOptions::default().hec_sourcetype("_json");
    /// assert_eq!(c.hec_sourcetype.as_deref(), Some("_json"));
    /// ```
    pub fn hec_sourcetype(mut self, hec_sourcetype: impl Into<String>) -> FormatOptions {
        self.hec_sourcetype = Some(hec_sourcetype.into());
        self
    }

    /// Sets `hec_event`: what the Splunk HEC envelope carries as `event`.
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// use siem_format::HecEventFormat;
    /// let c = FormatOptions::default().hec_event(HecEventFormat::Ecs);
    /// assert_eq!(c.hec_event, HecEventFormat::Ecs);
    /// ```
    pub fn hec_event(mut self, hec_event: HecEventFormat) -> FormatOptions {
        self.hec_event = hec_event;
        self
    }

    /// Sets `signature`: which spelling of the event type names the event where a SIEM keys its signatures (CEF Signature ID and Name, LEEF EventID, RFC 5424 MSGID).
    ///
    /// ```
    /// use siem_format::FormatOptions;
    /// use siem_format::SignatureName;
    /// let c = FormatOptions::default().signature(SignatureName::Original);
    /// assert_eq!(c.signature, SignatureName::Original);
    /// ```
    pub fn signature(mut self, signature: SignatureName) -> FormatOptions {
        self.signature = signature;
        self
    }
}

impl Default for FormatOptions {
    fn default() -> Self {
        FormatOptions {
            vendor: crate::DEFAULT_VENDOR.to_owned(),
            product: crate::DEFAULT_PRODUCT.to_owned(),
            version: crate::DEFAULT_VERSION.to_owned(),
            hostname: None,
            facility: FacilitySetting::Name("local0".to_owned()),
            sd_id: "tracingSiem@32473".to_owned(),
            app_name: None,
            bom: false,
            body: BodyFormat::Message,
            leef_delimiter: "^".to_owned(),
            hec_index: None,
            hec_source: None,
            hec_sourcetype: Some("_json".to_owned()),
            hec_event: HecEventFormat::Json,
            signature: SignatureName::Canonical,
        }
    }
}

/// A syslog facility as configuration gives it: a name or a number 0–23.
///
/// ```
/// use siem_format::FacilitySetting;
/// assert_eq!(FacilitySetting::Name("local4".into()).code(), Ok(20));
/// assert_eq!(FacilitySetting::Code(10).code(), Ok(10));
/// assert!(FacilitySetting::Code(24).code().is_err());
/// ```
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(untagged)]
#[non_exhaustive]
pub enum FacilitySetting {
    /// A number 0–23.
    Code(u64),
    /// A name: `kern`, `user`, `mail`, `daemon`, `auth`, `syslog`, `lpr`, `news`, `uucp`,
    /// `cron`, `authpriv`, `ftp`, `ntp`, `audit`, `alert`, `clock`, `local0` … `local7`.
    Name(String),
}

const FACILITY_NAMES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

impl FacilitySetting {
    /// The facility code 0–23, or why there is none.
    /// ```
    /// use siem_format::FacilitySetting;
    /// assert_eq!(FacilitySetting::Name("authpriv".into()).code(), Ok(10));
    /// ```
    pub fn code(&self) -> Result<u8, String> {
        match self {
            FacilitySetting::Code(n) if *n <= 23 => Ok(*n as u8),
            FacilitySetting::Code(n) => Err(format!("{n} is not a facility code (0-23)")),
            FacilitySetting::Name(name) => {
                let lower = name.trim().to_ascii_lowercase();
                let alias = match lower.as_str() {
                    "security" => "auth",
                    "cron2" => "clock",
                    "logaudit" | "log_audit" => "audit",
                    "logalert" | "log_alert" => "alert",
                    other => other,
                };
                FACILITY_NAMES
                    .iter()
                    .position(|n| *n == alias)
                    .map(|i| i as u8)
                    .ok_or_else(|| {
                        format!("unknown syslog facility {name:?}: expected local0-local7, auth, authpriv, daemon, user, … or a number 0-23")
                    })
            }
        }
    }
}

/// What a syslog message (RFC 5424 or RFC 3164) carries as its MSG part.
///
/// `cef` makes "CEF over syslog", `leef1`/`leef2` "LEEF over syslog".
///
/// ```
/// use siem_format::BodyFormat;
/// let b: BodyFormat = serde_json::from_str("\"leef\"").unwrap();
/// assert_eq!(b, BodyFormat::Leef2);
/// ```
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum BodyFormat {
    /// The event's message (control characters become spaces).
    #[default]
    #[serde(alias = "plain", alias = "text")]
    Message,
    /// The CEF record.
    Cef,
    /// The LEEF 1.0 record.
    Leef1,
    /// The LEEF 2.0 record.
    #[serde(alias = "leef")]
    Leef2,
    /// The canonical JSON object.
    Json,
}

/// What the Splunk HEC envelope carries as `event`.
///
/// ```
/// use siem_format::HecEventFormat;
/// let h: HecEventFormat = serde_json::from_str("\"ocsf\"").unwrap();
/// assert_eq!(h, HecEventFormat::Ocsf);
/// ```
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum HecEventFormat {
    /// The canonical JSON object.
    #[default]
    Json,
    /// The ECS document.
    Ecs,
    /// The OCSF event.
    Ocsf,
}

/// Which spelling of the event type names the event where a SIEM keys its signatures: CEF
/// Signature ID and Name, LEEF EventID, RFC 5424 MSGID.
///
/// The canonical type tells outcomes apart (`auth.success` / `auth.failure`) where the name
/// the application logged (`authentication`, seed 004) does not, so that a SIEM's per-signature
/// rules, counts and mappings see two signatures. The other spelling is always in the record
/// too (CEF and LEEF `cat`, RFC 5424 `eventTypeOriginal`).
///
/// ```
/// use siem_event::{EventType, Outcome};
/// use siem_format::SignatureName;
///
/// let t = EventType::parse_with_outcome("authentication", Outcome::Failure);
/// assert_eq!(SignatureName::Canonical.of(&t), "auth.failure");
/// assert_eq!(SignatureName::Original.of(&t), "authentication");
/// let s: SignatureName = serde_json::from_str("\"original\"").unwrap();
/// assert_eq!(s, SignatureName::Original);
/// ```
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SignatureName {
    /// The canonical dotted type, `auth.failure`.
    #[default]
    Canonical,
    /// The name as the application logged it, `authentication` (seed 000's CEF example,
    /// `authentication_failure`, is written this way).
    Original,
}

impl SignatureName {
    /// The spelling of `event_type` this choice names.
    pub fn of(self, event_type: &siem_event::EventType) -> &str {
        match self {
            SignatureName::Canonical => event_type.as_str(),
            SignatureName::Original => event_type.original(),
        }
    }
}

fn invalid(option: &'static str, reason: impl Into<String>) -> FormatError {
    FormatError::InvalidOption {
        option,
        reason: reason.into(),
    }
}

/// Checks a text option: not empty, no control characters, at most `max` bytes.
fn check_text(option: &'static str, value: &str, max: usize, why: &str) -> Result<(), FormatError> {
    if value.trim().is_empty() {
        return Err(invalid(option, "must not be empty"));
    }
    if has_unsafe_char(value) {
        return Err(invalid(
            option,
            "must not contain control characters, line separators or bidirectional controls",
        ));
    }
    if value.len() > max {
        return Err(invalid(
            option,
            format!("{} bytes is longer than {max} ({why})", value.len()),
        ));
    }
    Ok(())
}

fn check_printable(option: &'static str, value: &str, max: usize) -> Result<(), FormatError> {
    if value.is_empty() || !value.bytes().all(|b| (33..=126).contains(&b)) {
        return Err(invalid(
            option,
            format!("{value:?} must be 1-{max} printable ASCII characters without spaces"),
        ));
    }
    if value.len() > max {
        return Err(invalid(
            option,
            format!("{value:?} is longer than {max} characters"),
        ));
    }
    Ok(())
}

impl FormatOptions {
    pub(crate) fn product_info(&self) -> Result<ProductInfo, FormatError> {
        check_text("vendor", &self.vendor, 63, "the CEF Device Vendor limit")?;
        check_text("product", &self.product, 63, "the CEF Device Product limit")?;
        check_text("version", &self.version, 31, "the CEF Device Version limit")?;
        Ok(ProductInfo {
            vendor: self.vendor.clone(),
            product: self.product.clone(),
            version: self.version.clone(),
        })
    }

    pub(crate) fn facility_code(&self) -> Result<u8, FormatError> {
        self.facility.code().map_err(|r| invalid("facility", r))
    }

    pub(crate) fn checked_hostname(&self) -> Result<Option<String>, FormatError> {
        if let Some(h) = &self.hostname {
            check_printable("hostname", h, 255)?;
        }
        Ok(self.hostname.clone())
    }

    pub(crate) fn checked_app_name(&self) -> Result<Option<String>, FormatError> {
        if let Some(a) = &self.app_name {
            check_printable("app_name", a, 48)?;
        }
        Ok(self.app_name.clone())
    }

    /// Validates `sd_id`: `name@PEN`, at most 32 printable ASCII characters, the name without
    /// `@`, `=`, `]`, `"` or spaces, the enterprise number digits (dotted sub-numbers allowed).
    pub(crate) fn checked_sd_id(&self) -> Result<String, FormatError> {
        let id = &self.sd_id;
        let bad = |reason: &str| Err(invalid("sd_id", format!("{id:?}: {reason}")));
        if id.len() > 32 {
            return bad("longer than 32 characters (RFC 5424 SD-NAME)");
        }
        if !id
            .bytes()
            .all(|b| (33..=126).contains(&b) && !matches!(b, b'=' | b']' | b'"'))
        {
            return bad("only printable ASCII without '=', ']', '\"' or spaces is allowed");
        }
        let Some((name, pen)) = id.split_once('@') else {
            return bad("expected name@PEN (names without '@' are reserved to IANA)");
        };
        if name.is_empty() || pen.contains('@') {
            return bad("expected exactly one '@' after a non-empty name");
        }
        let pen_ok = !pen.is_empty()
            && pen
                .split('.')
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        if !pen_ok {
            return bad("the part after '@' must be a private enterprise number such as 32473");
        }
        Ok(id.clone())
    }

    /// The LEEF 2.0 delimiter character.
    pub(crate) fn checked_leef_delimiter(&self) -> Result<char, FormatError> {
        let text = self.leef_delimiter.as_str();
        let bad = |reason: String| Err(invalid("leef_delimiter", format!("{text:?}: {reason}")));
        let mut chars = text.chars();
        let c = match (chars.next(), chars.next()) {
            (Some(c), None) => c,
            _ => {
                let hex = text
                    .strip_prefix("0x")
                    .or_else(|| text.strip_prefix("0X"))
                    .or_else(|| text.strip_prefix('x'))
                    .or_else(|| text.strip_prefix('X'));
                let Some(hex) = hex.filter(|h| (1..=4).contains(&h.len())) else {
                    return bad(
                        "expected one character or its code as 0x.. or x.. (1-4 hex digits)".into(),
                    );
                };
                let Ok(code) = u32::from_str_radix(hex, 16) else {
                    return bad(format!("{hex:?} is not hexadecimal"));
                };
                match char::from_u32(code) {
                    Some(c) => c,
                    None => return bad(format!("U+{code:04X} is not a character")),
                }
            }
        };
        if c.is_ascii_alphanumeric() || matches!(c, '=' | ' ' | '\r' | '\n' | '\0') {
            return bad(format!(
                "{c:?} cannot separate attributes (it occurs in keys, or is '=', a space, CR, LF or NUL)"
            ));
        }
        if is_unsafe_char(c) && c != '\t' {
            return bad(format!(
                "{c:?} is a control character other than TAB, a line separator or a bidirectional control"
            ));
        }
        Ok(c)
    }

    pub(crate) fn checked_hec(&self) -> Result<(), FormatError> {
        for (option, value) in [
            ("hec_index", &self.hec_index),
            ("hec_source", &self.hec_source),
            ("hec_sourcetype", &self.hec_sourcetype),
        ] {
            if let Some(v) = value {
                check_text(option, v, 1024, "a sane limit for Splunk metadata")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut FormatOptions)) -> FormatOptions {
        let mut o = FormatOptions::default();
        f(&mut o);
        o
    }

    fn reason(e: FormatError) -> String {
        e.to_string()
    }

    #[test]
    fn every_option_deserializes() {
        let o: FormatOptions = serde_json::from_str(
            r#"{"vendor":"ACGS-2","product":"EnhancedAgentBus","version":"2.4.0","hostname":"web01",
            "facility":"daemon","sd_id":"acgs2@12345","app_name":"bus","bom":true,"body":"leef2",
            "leef_delimiter":"x09","hec_index":"sec","hec_source":"src","hec_sourcetype":"st",
            "hec_event":"ecs"}"#,
        )
        .unwrap();
        assert_eq!(o.vendor, "ACGS-2");
        assert_eq!(o.facility_code(), Ok(3));
        assert_eq!(o.checked_leef_delimiter(), Ok('\t'));
        assert_eq!(o.body, BodyFormat::Leef2);
        assert_eq!(o.hec_event, HecEventFormat::Ecs);
        assert!(o.bom);
        let err = serde_json::from_str::<FormatOptions>(r#"{"body":"xml"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `xml`"), "{err}");
    }

    #[test]
    fn facilities() {
        for (name, code) in [("kern", 0), ("daemon", 3), ("authpriv", 10), ("LOCAL7", 23)] {
            assert_eq!(FacilitySetting::Name(name.into()).code(), Ok(code));
        }
        assert!(FacilitySetting::Name("local8".into()).code().is_err());
        let o: FormatOptions = serde_json::from_str(r#"{"facility":"auth"}"#).unwrap();
        assert_eq!(o.facility_code(), Ok(4));
        assert_eq!(
            reason(
                with(|o| o.facility = FacilitySetting::Code(99))
                    .facility_code()
                    .unwrap_err()
            ),
            "format option `facility`: 99 is not a facility code (0-23)"
        );
    }

    #[test]
    fn sd_ids() {
        for ok in ["acgs2@12345", "exampleSDID@32473", "a@1.2.3"] {
            assert!(
                with(|o| o.sd_id = ok.into()).checked_sd_id().is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "origin",
            "@123",
            "a@",
            "a@b",
            "a@1@2",
            "a b@1",
            "a]@1",
            "a\"@1",
            "a=b@1",
            "averyveryverylongnamethatistoolong@32473",
            "é@1",
        ] {
            let err = with(|o| o.sd_id = bad.into()).checked_sd_id().unwrap_err();
            assert!(
                matches!(
                    err,
                    FormatError::InvalidOption {
                        option: "sd_id",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn leef_delimiters() {
        let d = |s: &str| with(|o| o.leef_delimiter = s.into()).checked_leef_delimiter();
        assert_eq!(d("^"), Ok('^'));
        assert_eq!(d("x5E"), Ok('^'));
        assert_eq!(d("0x09"), Ok('\t'));
        assert_eq!(d("x7c"), Ok('|'));
        assert_eq!(d("xA6"), Ok('¦'));
        assert_eq!(d("¦"), Ok('¦'));
        for bad in [
            "", "ab", "x", "0x12345", "xZZ", "a", "=", " ", "0x0A", "xD800", "\u{1}",
        ] {
            assert!(d(bad).is_err(), "{bad:?}");
        }
        assert!(reason(d("xZZ").unwrap_err()).starts_with("format option `leef_delimiter`"));
    }

    #[test]
    fn product_text() {
        assert!(FormatOptions::default().product_info().is_ok());
        let e = with(|o| o.vendor = "x".repeat(64))
            .product_info()
            .unwrap_err();
        assert_eq!(
            reason(e),
            "format option `vendor`: 64 bytes is longer than 63 (the CEF Device Vendor limit)"
        );
        let e = with(|o| o.product = "a\nb".into())
            .product_info()
            .unwrap_err();
        assert!(matches!(
            e,
            FormatError::InvalidOption {
                option: "product",
                ..
            }
        ));
        let e = with(|o| o.version = " ".into()).product_info().unwrap_err();
        assert!(matches!(
            e,
            FormatError::InvalidOption {
                option: "version",
                ..
            }
        ));
    }

    #[test]
    fn syslog_header_options() {
        assert!(with(|o| o.app_name = Some("my app".into()))
            .checked_app_name()
            .is_err());
        assert!(with(|o| o.app_name = Some("x".repeat(49)))
            .checked_app_name()
            .is_err());
        assert!(with(|o| o.hostname = Some("web01".into()))
            .checked_hostname()
            .is_ok());
        assert!(with(|o| o.hostname = Some(String::new()))
            .checked_hostname()
            .is_err());
        assert!(with(|o| o.hec_index = Some("a\u{0}".into()))
            .checked_hec()
            .is_err());
    }
}
