//! The Content-Security-Policy every response carries. Pages add the nonce of the request, so the
//! few inline scripts Leptos writes (the hydration loader, serialized resources) run and no other
//! inline script does.

/// The policy for everything that is not a page: the hydration WebAssembly may run
/// (`'wasm-unsafe-eval'`), nothing inline or foreign may, no framing, forms only to this origin.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The policy for a page whose inline scripts carry `nonce`.
pub fn with_nonce(nonce: &str) -> String {
    CONTENT_SECURITY_POLICY.replacen(
        "script-src 'self' 'wasm-unsafe-eval'",
        &format!("script-src 'self' 'wasm-unsafe-eval' 'nonce-{nonce}'"),
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_policy_allows_its_nonce_and_keeps_every_other_directive() {
        let policy = with_nonce("abc123");
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'nonce-abc123';"), "{policy}");
        assert_eq!(policy.replace(" 'nonce-abc123'", ""), CONTENT_SECURITY_POLICY);
    }
}
