//! The spam filter's rules (M6, manual §3.11.1 "消息过滤"): which first messages each
//! strength catches. Pure and deterministic: the same message at the same strength is
//! always judged the same way, so a user can predict it (`wire/PROTOCOL.md` section
//! 25 is the user's copy of this table).
//!
//! The manual says only that the filter "根据来访用户发送的消息来判断" (judges a
//! visitor by what it sends), that high strength "能够过滤绝大多数的骚扰消息" (catches
//! most spam) and low strength "只能过滤小部分" (a small part). The rules below fill
//! that in; each strength catches everything the weaker one does.
//!
//! What is judged: the *first* customer message of a conversation the account holds
//! for screening (the daemon decides which: a customer who is neither a friend
//! contact nor whitelisted, with the filter on). Its text is first **normalised**:
//! full-width ASCII forms (`ＡＢＣ１２３：`) become ASCII, ASCII letters lower
//! case, and every white-space character is removed — so `加 微 信` and `ＷＷＷ．`
//! are caught like `加微信` and `www.`.
//!
//! | rule | strength | catches (after normalising) |
//! |---|---|---|
//! | [`SpamRule::Phrase`] | low, medium, high | a phrase of [`SPAM_PHRASES`] (advertising, gambling, fraud: `代开发票`, `刷单`, `加微信`, `博彩` …) |
//! | [`SpamRule::Link`] | medium, high | a link: `http://`, `https://`, `www.`, or a dot followed by a common top-level domain of [`LINK_SUFFIXES`] (`.com`, `.cn` …) not followed by a letter |
//! | [`SpamRule::ContactNumber`] | medium, high | [`MIN_DIGIT_RUN`] (7) or more ASCII digits in a row (phone, QQ or WeChat numbers) |
//! | [`SpamRule::NoText`] | high | a first message that is an image or a file, with no text |
//! | [`SpamRule::Repeats`] | high | one character [`MIN_REPEATS`] (6) or more times in a row (`！！！！！！`, `aaaaaa`) |
//! | [`SpamRule::TooLong`] | high | more than [`MAX_FIRST_CHARS`] (300) characters (advertising copy) |

use kefu_wire::chat::MessageBody;
use kefu_wire::spam::SpamLevel;

/// Phrases caught at every strength, written normalised (lower case, no spaces).
pub const SPAM_PHRASES: &[&str] = &[
    "代开发票",
    "开发票",
    "刷单",
    "兼职日结",
    "日结工资",
    "日赚",
    "加微信",
    "加我微信",
    "加v信",
    "加vx",
    "加qq群",
    "博彩",
    "六合彩",
    "时时彩",
    "百家乐",
    "赌场",
    "网赚",
    "套现",
    "代办信用卡",
    "无抵押贷款",
    "裸聊",
    "恭喜您中奖",
    "免费领取",
    "低价出售",
    "刷信誉",
    "推广引流",
    "casino",
    "viagra",
];

/// Top-level domains that make a dotted word a link (medium and high).
pub const LINK_SUFFIXES: &[&str] = &[
    "com", "cn", "net", "org", "cc", "top", "xyz", "vip", "info", "io", "me", "tk",
];

/// Digits in a row that make a contact number (medium and high).
pub const MIN_DIGIT_RUN: usize = 7;
/// One character this many times in a row is a flood (high).
pub const MIN_REPEATS: usize = 6;
/// A first message longer than this many characters is advertising copy (high).
pub const MAX_FIRST_CHARS: usize = 300;

/// The rule that caught a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpamRule {
    /// A known spam phrase.
    Phrase,
    /// A link.
    Link,
    /// A long run of digits.
    ContactNumber,
    /// An image or a file with no text.
    NoText,
    /// One character repeated.
    Repeats,
    /// Too long.
    TooLong,
}

impl SpamRule {
    /// The weakest strength that applies this rule.
    pub fn from_level(self) -> SpamLevel {
        match self {
            SpamRule::Phrase => SpamLevel::Low,
            SpamRule::Link | SpamRule::ContactNumber => SpamLevel::Medium,
            SpamRule::NoText | SpamRule::Repeats | SpamRule::TooLong => SpamLevel::High,
        }
    }
}

fn rank(level: SpamLevel) -> u8 {
    match level {
        SpamLevel::Off => 0,
        SpamLevel::Low => 1,
        SpamLevel::Medium => 2,
        SpamLevel::High => 3,
    }
}

/// Full-width ASCII to ASCII, ASCII letters lower case, white space removed.
pub fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match u32::from(c) {
            0xFF01..=0xFF5E => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The first rule (table order) that catches `body` at `level`, or `None`: the
/// message passes. `Off` catches nothing.
pub fn judge(level: SpamLevel, body: &MessageBody) -> Option<SpamRule> {
    let text = match body {
        MessageBody::Text(t) => t,
        MessageBody::Image { .. } | MessageBody::File { .. } => {
            return applies(level, SpamRule::NoText);
        }
    };
    let norm = normalise(text);
    let checks: [(SpamRule, &dyn Fn() -> bool); 5] = [
        (SpamRule::Phrase, &|| {
            SPAM_PHRASES.iter().any(|p| norm.contains(p))
        }),
        (SpamRule::Link, &|| has_link(&norm)),
        (SpamRule::ContactNumber, &|| {
            digit_run(&norm) >= MIN_DIGIT_RUN
        }),
        (SpamRule::Repeats, &|| repeat_run(&norm) >= MIN_REPEATS),
        (SpamRule::TooLong, &|| {
            text.chars().count() > MAX_FIRST_CHARS
        }),
    ];
    checks
        .iter()
        .find(|(rule, check)| applies(level, *rule).is_some() && check())
        .map(|(rule, _)| *rule)
}

fn applies(level: SpamLevel, rule: SpamRule) -> Option<SpamRule> {
    (rank(level) >= rank(rule.from_level())).then_some(rule)
}

/// `http://`, `https://`, `www.`, or `.tld` not followed by an ASCII letter.
fn has_link(norm: &str) -> bool {
    if norm.contains("http://") || norm.contains("https://") || norm.contains("www.") {
        return true;
    }
    norm.match_indices('.').any(|(i, _)| {
        let rest = norm.get(i + 1..).unwrap_or_default();
        LINK_SUFFIXES.iter().any(|tld| {
            rest.starts_with(tld)
                && !rest
                    .get(tld.len()..)
                    .and_then(|r| r.chars().next())
                    .is_some_and(|c| c.is_ascii_alphabetic())
        })
    })
}

/// The longest run of ASCII digits.
fn digit_run(s: &str) -> usize {
    let mut best = 0;
    let mut run = 0usize;
    for c in s.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// The longest run of one character repeated.
fn repeat_run(s: &str) -> usize {
    let mut best = 0;
    let mut run = 0usize;
    let mut prev: Option<char> = None;
    for c in s.chars() {
        run = if prev == Some(c) { run + 1 } else { 1 };
        best = best.max(run);
        prev = Some(c);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use SpamLevel::*;

    fn text(t: &str) -> MessageBody {
        MessageBody::Text(t.to_string())
    }

    /// The table of the module doc, one row per rule and strength.
    #[test]
    fn each_strength_catches_its_rules_and_those_below() {
        let image = MessageBody::Image {
            reference: "img-1".into(),
        };
        // (message, the rule that catches it, the weakest strength that does)
        let rows: Vec<(MessageBody, SpamRule)> = vec![
            (text("专业代开发票，请联系"), SpamRule::Phrase),
            (text("加 微 信 领红包"), SpamRule::Phrase),
            (text("看这里 http://spam.example"), SpamRule::Link),
            (text("ＷＷＷ．ｓｐａｍ"), SpamRule::Link),
            (text("访问 abc.com 了解"), SpamRule::Link),
            (text("我的电话 13800138000"), SpamRule::ContactNumber),
            (image, SpamRule::NoText),
            (text("！！！！！！"), SpamRule::Repeats),
            (text(&"好问题".repeat(101)), SpamRule::TooLong),
        ];
        for (body, rule) in rows {
            for level in [Off, Low, Medium, High] {
                let caught = judge(level, &body);
                if rank(level) >= rank(rule.from_level()) {
                    assert_eq!(caught, Some(rule), "{body:?} at {level:?}");
                } else {
                    assert_eq!(caught, None, "{body:?} at {level:?}");
                }
            }
        }
    }

    /// What an ordinary customer writes passes at every strength.
    #[test]
    fn ordinary_messages_pass_at_every_strength() {
        for t in [
            "你好，请问这款产品有货吗？",
            "订单 123456 什么时候发货",
            "价格是多少，可以开具发货单吗",
            "hello, is anyone there?",
            "v1.2 版本能用吗",
            "哈哈哈哈哈",
            "請問.comma 是什麼",
        ] {
            for level in [Off, Low, Medium, High] {
                assert_eq!(judge(level, &text(t)), None, "{t} at {level:?}");
            }
        }
    }

    #[test]
    fn normalising_folds_width_case_and_space() {
        assert_eq!(normalise("Ａ Ｂ\tc　１"), "abc1");
        assert_eq!(normalise("加 V 信"), "加v信");
    }
}
