//! Misuse of `#[security_audit]` gets a message that says what to write instead, at the place
//! that is wrong (the expected messages are the `.stderr` files beside each case).

#[test]
fn misuse_is_explained() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
