//! Every mistake a user can make in a declaration is a compile error that
//! points at the offending token and says what to write instead. The
//! expected messages are the `.stderr` files beside each case.

#[test]
fn declarations_with_mistakes_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
