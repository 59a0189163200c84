use siem_macros::security_audit;

#[security_audit(event_type = "authentication", skip(passwd))]
fn login(user: &str, password: &str) -> bool {
    !user.is_empty() && !password.is_empty()
}

fn main() {}
