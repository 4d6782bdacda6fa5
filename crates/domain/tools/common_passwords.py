#!/usr/bin/env python3
"""Generates crates/domain/src/common_passwords.txt.

The list holds passwords that would otherwise pass MyPage's policy (8-32 half-width characters
with a digit, a letter and a symbol) but are guessed early by any attacker: well-known leaked
passwords, and common base words (English and Japanese romaji) with the digit and symbol suffixes
and leetspeak people use to satisfy composition rules. Entries are lowercase (the check is
case-insensitive). Run: python3 crates/domain/tools/common_passwords.py > crates/domain/src/common_passwords.txt
"""

import string

LEAKED = """
p@ssw0rd p@ssw0rd1 p@ssw0rd! p@ssw0rd1! p@ssw0rd123 p@ssw0rd123! p@ssword1 p@ssword1! p@ssword!
p@ssword123 p@$$w0rd p@$$word1 p@55w0rd p@55word1 pa$$w0rd pa$$word1 pa$$word! passw0rd! passw0rd1!
passw0rd@ password1! password!1 password123! password@123 password#1 password1@ password1# pass@123
pass@1234 pass@word1 pass@word123 pass#123 pass!123 pass123! pass1234! qwerty123! qwerty!23 qwerty@123
qwerty1! qwerty12! qwerty1234! !qaz2wsx 1qaz!qaz 1qaz@wsx 1qaz!qaz2wsx 1qaz2wsx! 1qaz2wsx@ 1qaz@wsx3edc
1qaz!qaz1 !qaz1qaz 1qazxsw@ 1qazxsw2! zaq1@wsx zaq12wsx! zaq1!qaz !qaz@wsx1 1q2w3e4r! 1q2w3e4r5t!
1q2w3e4r@ 1q2w3e! q1w2e3r4! !q1w2e3r4 1q2w3e4r5t6y! abc123!! abc123!@# abc@123 abc@1234 abc!1234
abcd@123 abcd@1234 abcd!234 abcd1234! abc12345! admin@123 admin123! admin!123 admin@1234 admin#123
admin@2024 admin@2025 admin@2026 administrator1! welcome1! welcome@1 welcome@123 welcome123!
welcome!1 welcome#1 iloveyou1! iloveyou! iloveyou@1 iloveyou123! i10veyou! changeme1! changeme@1
letmein1! letmein@1 letmein123! test@123 test@1234 test123! test1234! user@123 user@1234 root@123
root@1234 hello@123 hello123! hello1234! india@123 asdf@1234 asdf1234! qwer@1234 qwer1234! 1234qwer!
1234qwer@ 1234asdf! asdfgh1! asdfgh12! asdfghjkl1! zxcvbnm1! qwertyuiop1! abcdef1! abcdefg1!
trustno1! trustno1@ football1! baseball1! monkey123! dragon123! master123! shadow123! sunshine1!
princess1! superman1! batman123! michael1! charlie1! jordan23! hunter2! killer123! freedom1!
whatever1! starwars1! computer1! internet1! secret123! summer2024! summer2025! summer2026!
winter2024! winter2025! spring2025! autumn2025! japan2020! tokyo2020! p@ssw0rd2024 p@ssw0rd2025
p@ssw0rd2026 password2024! password2025! password2026! a1b2c3d4! a1b2c3d4e5! 1a2b3c4d! aa123456!
aa12345678! a123456! a1234567! a12345678! qq123456! zz123456! 123456a! 123456ab! 12345678a!
123456789a! 1234abcd! 12345abc! 123abc!! 123qwe!! 123qweasd! 123qweasdzxc! qweasd123! qweasdzxc1!
qazwsx123! qazwsxedc1! 147258369a! 159753a! 789456123a! 147852369a! 1029384756a! 0987654321a!
"""

BASES = """
password passwd passcode qwerty qwertyuiop asdfgh asdfghjkl zxcvbn zxcvbnm qazwsx 1qaz2wsx abc abcd
abcdef abcdefg letmein welcome iloveyou admin administrator root user guest login test demo changeme
secret master dragon monkey sunshine princess football baseball soccer shadow superman batman spiderman
michael jordan charlie hunter killer freedom whatever starwars computer internet summer winter spring
autumn hello helloworld trustno lovely love cherry angel flower chocolate coffee
doraemon pokemon pikachu sakura tokyo osaka kyoto yokohama nagoya sapporo fukuoka kobe sendai
hiroshima okinawa hokkaido kushiro japan nippon nihon hellowork mypage kyushoku shigoto arigato
arigatou daisuki aishiteru naruto gundam totoro anpanman hellokitty kitty mickey samurai ninja sushi
ramen neko inu tiger giants hanshin tigers carp ultraman conan onepiece luffy goku dragonball sailormoon
hanako taro tarou yamada tanaka suzuki sato satou takahashi watanabe ito kobayashi nakamura yoshida
fujisan sakurako hikari yuki haruka mirai kokoro takeshi hiroshi kenji akira
"""

# Suffixes people append to satisfy "a digit and a symbol".
SUFFIXES = ["1!", "123!", "1234!", "!1", "!123", "@1", "@123", "#1", "123!@#", "2026!"]
# Fewer suffixes for the leetspeak spellings (`p@ssw0rd`), which already carry a symbol or digit.
LEET_SUFFIXES = ["", "1", "1!", "123!", "!"]
LEET = str.maketrans({"a": "@", "o": "0", "e": "3", "i": "1", "s": "$"})


def passes_policy(p: str) -> bool:
    return (
        8 <= len(p) <= 32
        and all(0x21 <= ord(c) <= 0x7E for c in p)
        and any(c.isdigit() for c in p)
        and any(c.isalpha() for c in p)
        and any(c in string.punctuation for c in p)
    )


def main() -> None:
    out = set(LEAKED.split())
    for base in BASES.split():
        for suffix in SUFFIXES:
            out.add(base + suffix)
        out.add("!" + base + "1")
        for leet in {base.translate(LEET), base.replace("a", "@", 1), base.replace("o", "0")}:
            if leet != base:
                for suffix in LEET_SUFFIXES:
                    out.add(leet + suffix)
    entries = sorted(p for p in out if passes_policy(p))
    print("# Common passwords refused by MyPage's policy (see tools/common_passwords.py).")
    print("# One per line, lowercase; lines starting with '# ' are comments.")
    for p in entries:
        assert p == p.lower(), p
        print(p)


if __name__ == "__main__":
    main()
