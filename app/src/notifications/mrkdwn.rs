//! Slack's mrkdwn: escaping user text, links, and truncation to Block Kit's limits.

/// Escapes the three characters Slack gives meaning to, so a table named `<!channel>` pings no one
/// and `<https://evil|click>` injects no link.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Shortens `text` to at most `max` characters, ending with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Escapes user text after truncating it, never cutting an escape sequence in half.
pub fn escape_truncated(text: &str, max: usize) -> String {
    let escaped = escape(text);
    if escaped.chars().count() <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut length = 0;
    for c in text.chars() {
        let piece = escape(&c.to_string());
        let piece_len = piece.chars().count();
        if length + piece_len > max.saturating_sub(1) {
            break;
        }
        out.push_str(&piece);
        length += piece_len;
    }
    out.push('…');
    out
}

/// `<url|label>`: the label escaped, and the characters that would end the link percent-encoded
/// in the URL.
pub fn link(url: &str, label: &str) -> String {
    let url = url.replace('|', "%7C").replace('>', "%3E").replace('<', "%3C");
    format!("<{url}|{}>", escape(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ampersand_and_angle_brackets_are_escaped() {
        assert_eq!(
            escape("<!channel> & <https://evil|click> \"ok\" 'x'"),
            "&lt;!channel&gt; &amp; &lt;https://evil|click&gt; \"ok\" 'x'"
        );
    }

    #[test]
    fn truncation_keeps_within_the_limit_and_never_splits_an_escape() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdefg", 6), "abcde…");
        assert_eq!(escape_truncated("a&b", 10), "a&amp;b");
        let cut = escape_truncated("&&&&&", 8);
        assert_eq!(cut, "&amp;…");
        assert!(cut.chars().count() <= 8);
    }

    #[test]
    fn links_have_no_spaces_and_cannot_be_broken_out_of() {
        assert_eq!(link("https://t.example/a|b>c", "x <y>"), "<https://t.example/a%7Cb%3Ec|x &lt;y&gt;>");
    }
}
