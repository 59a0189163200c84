use siem_macros::security_audit;

#[security_audit(event_type = "configuration")]
struct Settings {
    limit: u32,
}

fn main() {}
