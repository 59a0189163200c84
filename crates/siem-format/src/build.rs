//! Building an encoder from a format and its options.

use crate::{
    CefEncoder, EcsEncoder, Encoder, Format, FormatError, FormatOptions, HecEncoder, JsonEncoder,
    LeefEncoder, OcsfEncoder, Rfc3164Encoder, Rfc5424Encoder,
};

/// The encoder for `format`, configured by `options`.
///
/// Every option the format reads is checked first; an error names the option and the reason.
/// Options a format does not read are not checked (a `leef_delimiter` is only read by LEEF 2.0
/// and by syslog with a LEEF 2.0 body).
///
/// ```
/// use siem_event::{EventType, SecurityEvent};
/// use siem_format::{build_encoder, BodyFormat, Format, FormatOptions};
///
/// let options = FormatOptions::default().body(BodyFormat::Cef);
/// let encoder = build_encoder("syslog".parse().unwrap(), &options).unwrap();
/// let mut out = Vec::new();
/// encoder.encode(&SecurityEvent::new(EventType::parse("auth.failure"), "Failed"), &mut out);
/// assert!(String::from_utf8(out).unwrap().contains("] CEF:0|"));
///
/// let bad = FormatOptions::default().leef_delimiter("xZZ");
/// assert!(build_encoder(Format::Leef2, &bad).is_err());
/// assert!(build_encoder(Format::Leef1, &bad).is_ok());
/// ```
pub fn build_encoder(
    format: Format,
    options: &FormatOptions,
) -> Result<Box<dyn Encoder>, FormatError> {
    Ok(match format {
        Format::Json => Box::new(JsonEncoder::from_product(options.product_info()?)),
        Format::Ecs => Box::new(EcsEncoder::new(options)?),
        Format::Ocsf => Box::new(OcsfEncoder::new(options)?),
        Format::Cef => Box::new(CefEncoder::new(options)?),
        Format::Leef1 => Box::new(LeefEncoder::v1(options)?),
        Format::Leef2 => Box::new(LeefEncoder::v2(options)?),
        Format::Rfc5424 => Box::new(Rfc5424Encoder::new(options)?),
        Format::Rfc3164 => Box::new(Rfc3164Encoder::new(options)?),
        Format::Hec => Box::new(HecEncoder::new(options)?),
    })
}

#[cfg(test)]
mod tests {
    use siem_event::{EventType, SecurityEvent};

    use super::*;
    use crate::{BodyFormat, FacilitySetting};

    #[test]
    fn every_format_builds_with_defaults_and_writes_one_line() {
        let mut e = SecurityEvent::new(EventType::parse("auth.failure"), "a\nb\r\nc");
        e.push_metadata("note", "x\ny");
        for format in Format::ALL {
            let encoder = build_encoder(format, &FormatOptions::default()).unwrap();
            let mut out = Vec::new();
            encoder.encode(&e, &mut out);
            assert!(!out.is_empty(), "{format}");
            assert!(!out.contains(&b'\n') && !out.contains(&b'\r'), "{format}");
        }
    }

    #[test]
    fn option_errors_name_the_option() {
        let cases: Vec<(Format, FormatOptions, &str)> = vec![
            (
                Format::Rfc5424,
                FormatOptions {
                    facility: FacilitySetting::Name("local9".into()),
                    ..FormatOptions::default()
                },
                "facility",
            ),
            (
                Format::Rfc3164,
                FormatOptions {
                    app_name: Some("two words".into()),
                    ..FormatOptions::default()
                },
                "app_name",
            ),
            (
                Format::Rfc5424,
                FormatOptions {
                    body: BodyFormat::Leef2,
                    leef_delimiter: "a".into(),
                    ..FormatOptions::default()
                },
                "leef_delimiter",
            ),
            (
                Format::Json,
                FormatOptions {
                    vendor: String::new(),
                    ..FormatOptions::default()
                },
                "vendor",
            ),
            (
                Format::Hec,
                FormatOptions {
                    hec_sourcetype: Some("a\nb".into()),
                    ..FormatOptions::default()
                },
                "hec_sourcetype",
            ),
            (
                Format::Rfc5424,
                FormatOptions {
                    hostname: Some("bad host".into()),
                    ..FormatOptions::default()
                },
                "hostname",
            ),
        ];
        for (format, options, option) in cases {
            match build_encoder(format, &options) {
                Err(FormatError::InvalidOption { option: o, .. }) => assert_eq!(o, option),
                Err(other) => panic!("{format}: unexpected {other}"),
                Ok(_) => panic!("{format}: {option} accepted"),
            }
        }
    }
}
