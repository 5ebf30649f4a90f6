//! What a caught panic says, for the log line of whoever caught it.

use std::any::Any;

/// The message a panic was raised with (`panic!("...")` gives a `&str` or a `String`).
pub fn message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_read_from_either_payload() {
        let caught = |f: fn()| std::panic::catch_unwind(f).unwrap_err();
        assert_eq!(message(caught(|| panic!("plain")).as_ref()), "plain");
        assert_eq!(message(caught(|| panic!("formatted {}", 42)).as_ref()), "formatted 42");
        assert_eq!(message(caught(|| std::panic::panic_any(7_u8)).as_ref()), "(a panic without a message)");
    }
}
