//! The dev stand-in for `msg_sec_check`: without WeChat credentials nothing can reach WeChat, and every
//! text would be held, so a local demo would show nothing published. In dev mode without credentials
//! (and only there) text is judged against this short word list instead: a text containing one of
//! these words is risky (refused), anything else passes. It is no moderation; prod always asks WeChat.

use super::TextVerdict;

/// Gambling, drugs, pornography, fraud and violence: enough to see a refusal in the demo.
pub const LOCAL_BANNED_WORDS: &[&str] = &[
    "赌博",
    "博彩",
    "六合彩",
    "毒品",
    "冰毒",
    "大麻",
    "色情",
    "裸聊",
    "约炮",
    "代开发票",
    "办假证",
    "刷单返利",
    "枪支",
    "炸药",
    "高利贷",
    "传销",
];

pub fn local_text_check(content: &str) -> TextVerdict {
    let compact: String = content.chars().filter(|c| !c.is_whitespace()).collect();
    if LOCAL_BANNED_WORDS.iter().any(|word| compact.contains(word)) { TextVerdict::Risky } else { TextVerdict::Pass }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_list_refuses_listed_words_only() {
        assert_eq!(local_text_check("3号楼电梯坏了"), TextVerdict::Pass);
        assert_eq!(local_text_check("楼下有人 赌 博"), TextVerdict::Risky);
        assert_eq!(local_text_check("代开发票找我"), TextVerdict::Risky);
    }
}
