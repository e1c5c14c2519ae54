//! Feature tests for the topic language, through a few `check` helpers.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::model::{Article, Field, Hit, Topic, Urgency};

fn aliases() -> Aliases {
    let mut a = BTreeMap::new();
    a.insert(
        "zelensky".to_owned(),
        vec![
            "Zelensky".to_owned(),
            "Zelenskyy".to_owned(),
            "Зеленський".to_owned(),
            "Зеленский".to_owned(),
            "Volodymyr Zelensky".to_owned(),
        ],
    );
    a.insert(
        "Putin".to_owned(),
        vec!["Putin".to_owned(), "Путин".to_owned(), "Kremlin".to_owned()],
    );
    a.insert(
        "talks".to_owned(),
        vec!["negotiat*".to_owned(), "peace talks".to_owned()],
    );
    a
}

/// An article from `field: text` lines (`author` and `category` may repeat).
fn article(fields: &[(&str, &str)]) -> Article {
    let mut a = Article::default();
    for &(f, text) in fields {
        let text = text.to_owned();
        match f {
            "title" => a.title = text,
            "summary" => a.summary = text,
            "content" => a.content = text,
            "author" => a.authors.push(text),
            "category" => a.categories.push(text),
            "link" => a.link = Some(text),
            "feed" => a.source = text,
            other => panic!("bad test field {other}"),
        }
    }
    a
}

/// Render a match as `term=text@field; ...` (hits strongest first), or `-` for no match.
fn render(m: Option<&Match>) -> String {
    match m {
        None => "-".to_owned(),
        Some(m) => m
            .hits
            .iter()
            .map(|h| format!("{}={}@{}", h.term, h.text, h.field))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

#[track_caller]
fn check(query: &str, fields: &[(&str, &str)], expect: &str) {
    let q = match compile_query(query, &aliases()) {
        Ok(q) => q,
        Err(e) => panic!("query {query:?} did not compile:\n{e}"),
    };
    let a = article(fields);
    let m = q.matches(&a);
    if let Some(m) = &m {
        for h in &m.hits {
            let field_text = field_text(&a, h);
            assert_eq!(field_text.get(h.start..h.end), Some(h.text.as_str()));
        }
    }
    assert_eq!(render(m.as_ref()), expect, "query: {query}");
}

fn field_text<'a>(a: &'a Article, h: &Hit) -> &'a str {
    match h.field {
        Field::Title => &a.title,
        Field::Summary => &a.summary,
        Field::Content => &a.content,
        Field::Link => a.link.as_deref().unwrap_or(""),
        Field::Feed => &a.source,
        Field::Author => a
            .authors
            .iter()
            .find(|s| s.get(h.start..h.end) == Some(h.text.as_str()))
            .map_or("", |s| s.as_str()),
        Field::Category => a
            .categories
            .iter()
            .find(|s| s.get(h.start..h.end) == Some(h.text.as_str()))
            .map_or("", |s| s.as_str()),
    }
}

#[track_caller]
fn check_err(query: &str, expect: &str) {
    match parse_query(query, &aliases()) {
        Ok(e) => panic!("query {query:?} parsed as {e:?}, expected an error"),
        Err(e) => assert_eq!(e.to_string(), expect, "query: {query}"),
    }
}

const T: &str = "title";

#[test]
fn words_and_whole_words() {
    check("nato", &[(T, "NATO summit opens")], "nato=NATO@title");
    check("nato", &[(T, "a natonal event")], "-");
    check("talks", &[(T, "the talkshow")], "-");
    check(
        "talks",
        &[(T, "talks, talks")],
        "talks=talks@title; talks=talks@title",
    );
    check("2022", &[(T, "in 2022.")], "2022=2022@title");
    check(
        "nato",
        &[(T, "x"), ("summary", "NATO")],
        "nato=NATO@summary",
    );
    check(
        "nato",
        &[(T, "x"), ("content", "…nato…")],
        "nato=nato@content",
    );
    check("nato", &[("author", "nato")], "-");
    check("nato", &[(T, "")], "-");
}

#[test]
fn normalisation() {
    check(
        "zelenskyy",
        &[(T, "ZELÉNSKYY said")],
        "zelenskyy=ZELÉNSKYY@title",
    );
    check(
        "Zelénskyy",
        &[(T, "zelenskyy said")],
        "Zelénskyy=zelenskyy@title",
    );
    check(
        "zelenskyy",
        &[(T, "Zele\u{301}nskyy")],
        "zelenskyy=Zele\u{301}nskyy@title",
    );
    check("nato", &[(T, "ＮＡＴＯ")], "nato=ＮＡＴＯ@title");
    check("strasse", &[(T, "Die Straße")], "strasse=Straße@title");
    check(
        "Ukraine's",
        &[(T, "Ukraine’s army")],
        "Ukraine's=Ukraine’s@title",
    );
    check("ukraine", &[(T, "Ukraine’s army")], "ukraine=Ukraine@title");
    check(
        "putin-zelensky",
        &[(T, "Putin–Zelensky call")],
        "putin-zelensky=Putin–Zelensky@title",
    );
    check(
        "zelensky",
        &[(T, "Putin—Zelensky call")],
        "zelensky=Zelensky@title",
    );
    check(
        "Зеленський",
        &[(T, "ЗЕЛЕНСЬКИЙ заявив")],
        "Зеленський=ЗЕЛЕНСЬКИЙ@title",
    );
    check("Київ", &[(T, "Киів")], "Київ=Киів@title");
    check(
        "negotiate",
        &[(T, "nego\u{AD}tiate")],
        "negotiate=nego\u{AD}tiate@title",
    );
    // Hebrew, Arabic (RTL) and emoji with ZWJ.
    check("שלום", &[(T, "אמר שלום 👩\u{200D}💻")], "שלום=שלום@title");
    check("سلام", &[(T, "قال سلام")], "سلام=سلام@title");
}

#[test]
fn aliases_across_scripts() {
    check(
        "@zelensky",
        &[(T, "Зеленський прибув")],
        "@zelensky=Зеленський@title",
    );
    check(
        "@zelensky",
        &[(T, "Зеленский прибыл")],
        "@zelensky=Зеленский@title",
    );
    check("@zelensky", &[(T, "Зеленськом")], "-"); // whole words only
    // й and и normalise alike (diacritic stripped), on both sides.
    check(
        "Зеленский",
        &[(T, "ЗЕЛЕНСКИИ")],
        "Зеленский=ЗЕЛЕНСКИИ@title",
    );
    check(
        "@ZELENSKY",
        &[(T, "Zelenskyy visits")],
        "@ZELENSKY=Zelenskyy@title",
    );
    check(
        "@zelensky",
        &[(T, "Volodymyr Zelensky")],
        "@zelensky=Volodymyr Zelensky@title; @zelensky=Zelensky@title",
    );
    check(
        "@talks",
        &[(T, "negotiators met")],
        "@talks=negotiators@title",
    );
    check("@talks", &[(T, "peace talks")], "@talks=peace talks@title");
    check("@talks", &[(T, "peace")], "-");
}

#[test]
fn phrases_and_prefixes() {
    check(
        "\"peace talks\"",
        &[(T, "Peace, talks!")],
        "\"peace talks\"=Peace, talks@title",
    );
    check("\"peace talks\"", &[(T, "talks peace")], "-");
    check(
        "\"peace talks\"",
        &[(T, "peace"), ("summary", "talks")],
        "-",
    );
    check(
        "negotiat*",
        &[(T, "Negotiations resume")],
        "negotiat*=Negotiations@title",
    );
    check("negotiat*", &[(T, "renegotiate")], "-");
    check(
        "\"peace talk*\"",
        &[(T, "peace talking")],
        "\"peace talk*\"=peace talking@title",
    );
    check("\"peace talk*\"", &[(T, "peace stalking")], "-");
}

#[test]
fn boolean_operators() {
    let a = &[(T, "NATO and Russia")];
    check("nato AND russia", a, "nato=NATO@title; russia=Russia@title");
    check("nato russia", a, "nato=NATO@title; russia=Russia@title");
    check("nato AND china", a, "-");
    check("china OR nato", a, "nato=NATO@title");
    check("nato NOT russia", a, "-");
    check("nato -china", a, "nato=NATO@title");
    check("nato -(china OR russia)", a, "-");
    check("nato -\"and russia\"", a, "-");
    check(
        "nato-russia",
        &[(T, "NATO–Russia")],
        "nato-russia=NATO–Russia@title",
    );
    check("nato AND NOT china", a, "nato=NATO@title");
    // Lowercase operators are words.
    check(
        "nato and russia",
        a,
        "nato=NATO@title; and=and@title; russia=Russia@title",
    );
    check("nato or china", a, "-");
    // Precedence: AND binds tighter than OR.
    check(
        "china OR nato russia",
        a,
        "nato=NATO@title; russia=Russia@title",
    );
    check("(china OR nato) AND india", a, "-");
    check("china OR nato AND india", a, "-");
}

#[test]
fn near_boundaries() {
    // Distance = words strictly between the two occurrences.
    let two_between = &[(T, "nato x y joins")];
    check(
        "nato NEAR/2 join*",
        two_between,
        "nato=nato@title; join*=joins@title",
    );
    check("nato NEAR/1 join*", two_between, "-");
    check(
        "join* NEAR/2 nato",
        two_between,
        "nato=nato@title; join*=joins@title",
    );
    check(
        "nato NEAR/0 joins",
        &[(T, "joins nato")],
        "joins=joins@title; nato=nato@title",
    );
    check("nato NEAR/0 joins", &[(T, "joins x nato")], "-");
    // Default distance is 10.
    let ten = format!("nato {} joins", "w ".repeat(10));
    check(
        "nato NEAR joins",
        &[(T, &ten)],
        "nato=nato@title; joins=joins@title",
    );
    let eleven = format!("nato {} joins", "w ".repeat(11));
    check("nato NEAR joins", &[(T, &eleven)], "-");
    // Different fields are never near.
    check("nato NEAR joins", &[(T, "nato"), ("summary", "joins")], "-");
    // The same word does not count twice.
    check("nato NEAR nato", &[(T, "nato")], "-");
    check(
        "nato NEAR nato",
        &[(T, "nato nato")],
        "nato=nato@title; nato=nato@title",
    );
    // Phrases span their words.
    check(
        "\"peace talks\" NEAR/1 geneva",
        &[(T, "peace talks in geneva")],
        "\"peace talks\"=peace talks@title; geneva=geneva@title",
    );
    check(
        "\"peace talks\" NEAR/0 geneva",
        &[(T, "peace talks in geneva")],
        "-",
    );
}

#[test]
fn near_groups_and_chains() {
    let q = "(@putin OR kremlin) NEAR/3 (@zelensky OR kyiv) NEAR/3 (meet* OR talks OR summit)";
    check(
        q,
        &[(T, "Putin and Zelensky to meet in Istanbul")],
        "(@putin OR kremlin)=Putin@title; (@zelensky OR kyiv)=Zelensky@title; (meet* OR talks OR summit)=meet@title"
            .replace("(@putin OR kremlin)", "@putin")
            .replace("(@zelensky OR kyiv)", "@zelensky")
            .replace("(meet* OR talks OR summit)", "meet*")
            .as_str(),
    );
    // Chain: each adjacent pair within n, in any order.
    check(
        "a NEAR/1 b NEAR/1 c",
        &[(T, "c x b x a")],
        "c=c@title; b=b@title; a=a@title",
    );
    check("a NEAR/1 b NEAR/1 c", &[(T, "a x x b x c")], "-");
    check(
        "a NEAR/1 b NEAR/5 c",
        &[(T, "a b x x x x x c")],
        "a=a@title; b=b@title; c=c@title",
    );
    check("a NEAR/1 b NEAR/4 c", &[(T, "a b x x x x x c")], "-");
    // A parenthesised NEAR is one operand: its window.
    check(
        "(a NEAR/0 b) NEAR/1 c",
        &[(T, "a b x c")],
        "a=a@title; b=b@title; c=c@title",
    );
    check("(a NEAR/0 b) NEAR/0 c", &[(T, "a b x c")], "-");
}

#[test]
fn field_scopes() {
    let a = &[
        (T, "Summit news"),
        ("summary", "NATO leaders"),
        ("author", "Jane Doe"),
        ("author", "John Roe"),
        ("category", "World"),
        ("link", "https://example.com/world/nato-summit"),
        ("feed", "Reuters World"),
    ];
    check("title:nato", a, "-");
    check("summary:nato", a, "nato=NATO@summary");
    check("title:(nato OR summit)", a, "summit=Summit@title");
    check("author:\"john roe\"", a, "\"john roe\"=John Roe@author");
    check("author:\"doe john\"", a, "-"); // separate authors are separate values
    check("category:world", a, "world=World@category");
    check(
        "link:\"nato summit\"",
        a,
        "\"nato summit\"=nato-summit@link",
    );
    check("feed:reuters", a, "reuters=Reuters@feed");
    check("reuters", a, "-"); // unscoped: title, summary, content only
    check(
        "title:summit AND NOT category:sport",
        a,
        "summit=Summit@title",
    );
    check("title:/sum+it/", a, "/sum+it/=Summit@title");
}

#[test]
fn regexes() {
    check(
        "/covid-?19/",
        &[(T, "COVID–19 cases")],
        "/covid-?19/=COVID–19@title",
    );
    check("/\\d{4}/", &[(T, "in 2022")], "/\\d{4}/=2022@title");
    check("/a\\/b/", &[(T, "a/b")], "/a\\/b/=a/b@title");
    check("/strasse/", &[(T, "Straße")], "/strasse/=Straße@title");
    check(
        "/^nato/ NEAR/1 summit",
        &[(T, "NATO summit")],
        "/^nato/=NATO@title; summit=summit@title",
    );
    check("/zzz/", &[(T, "nothing")], "-");
}

#[test]
fn disabled_topics_and_ids() {
    let topic = |name: &str, query: &str, enabled: bool| Topic {
        name: name.to_owned(),
        query: query.to_owned(),
        urgency: Urgency::Normal,
        enabled,
        learn: None,
    };
    let topics = [
        topic("a", "nato", true),
        topic("b", "nato", false),
        topic("broken but disabled", "(((", false),
        topic("c", "summit OR /nato/", true),
        topic("d", "china", true),
    ];
    let m = match Matcher::new(&topics, &aliases()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    };
    let got = m.matches(&article(&[(T, "NATO summit")]));
    let ids: Vec<usize> = got.iter().map(|m| m.topic.0).collect();
    assert_eq!(ids, [0, 3]);
    assert_eq!(got[1].terms(), ["/nato/", "summit"]);
}

#[test]
fn topic_errors_name_the_topic() {
    let topics = [
        Topic {
            name: "ok".to_owned(),
            query: "nato".to_owned(),
            urgency: Urgency::Normal,
            enabled: true,
            learn: None,
        },
        Topic {
            name: "NATO membership".to_owned(),
            query: "NATO NEAR/8 (join* OR membership".to_owned(),
            urgency: Urgency::Normal,
            enabled: true,
            learn: None,
        },
    ];
    let e = Matcher::new(&topics, &aliases()).err();
    let e = e
        .as_ref()
        .map(|e| (e.topic_index, e.line, e.column, e.to_string()));
    assert_eq!(
        e,
        Some((
            Some(1),
            1,
            33,
            "topic \"NATO membership\": query:1:33: expected ')' after \"membership\"\n  NATO NEAR/8 (join* OR membership\n                                  ^"
                .to_owned()
        ))
    );
}

#[test]
fn errors() {
    let cases = [
        ("", "1:1: empty query\n  \n  ^"),
        ("   ", "1:1: empty query\n     \n  ^"),
        (
            "(nato",
            "1:6: expected ')' after \"nato\"\n  (nato\n       ^",
        ),
        (
            "nato)",
            "1:5: unexpected ')' without a matching '('\n  nato)\n      ^",
        ),
        (
            "nato AND",
            "1:9: expected a term after 'AND'\n  nato AND\n          ^",
        ),
        (
            "OR nato",
            "1:1: expected a term before 'OR'\n  OR nato\n  ^",
        ),
        (
            "a OR OR b",
            "1:6: expected a term after 'OR', found 'OR'\n  a OR OR b\n       ^",
        ),
        (
            "a NEAR",
            "1:7: expected a term after 'NEAR'\n  a NEAR\n        ^",
        ),
        (
            "\"peace talks",
            "1:1: unterminated phrase: missing closing '\"'\n  \"peace talks\n  ^",
        ),
        (
            "x /ab",
            "1:3: unterminated regex: missing closing '/'\n  x /ab\n    ^",
        ),
        (
            "a NEAR/x b",
            "1:3: bad NEAR distance 'x': expected a number from 0 to 1000\n  a NEAR/x b\n    ^",
        ),
        (
            "a NEAR/1001 b",
            "1:3: bad NEAR distance '1001': expected a number from 0 to 1000\n  a NEAR/1001 b\n    ^",
        ),
        (
            "a NEAR/ b",
            "1:3: bad NEAR distance '': expected a number from 0 to 1000\n  a NEAR/ b\n    ^",
        ),
        ("@nobody", "1:1: undefined alias '@nobody'\n  @nobody\n  ^"),
        ("@ x", "1:1: expected an alias name after '@'\n  @ x\n  ^"),
        (
            "foo:bar",
            "1:1: unknown field 'foo', expected one of title, summary, content, author, category, link, feed\n  foo:bar\n  ^",
        ),
        (
            "title: x",
            "1:7: expected a term after 'title:'\n  title: x\n        ^",
        ),
        (
            "title:summary:x",
            "1:7: a field scope cannot contain another field scope\n  title:summary:x\n        ^",
        ),
        ("\"\"", "1:1: empty phrase\n  \"\"\n  ^"),
        ("\" - \"", "1:1: empty phrase\n  \" - \"\n  ^"),
        (
            "NOT nato",
            "1:1: query can never match on its own: it needs a term that is not under NOT\n  NOT nato\n  ^",
        ),
        (
            "a OR NOT b",
            "1:1: query can never match on its own: it needs a term that is not under NOT\n  a OR NOT b\n  ^",
        ),
        (
            "nato AND NOT nato",
            "1:10: query can never match: 'nato' is both required and excluded\n  nato AND NOT nato\n           ^",
        ),
        (
            "NOT a NEAR b",
            "1:1: NEAR operands cannot contain NOT\n  NOT a NEAR b\n  ^",
        ),
        (
            "a NEAR (b OR NOT c)",
            "1:8: NEAR operands cannot contain NOT\n  a NEAR (b OR NOT c)\n         ^",
        ),
        ("/(/", "1:1: invalid regex: unclosed group\n  /(/\n  ^"),
        ("//", "1:1: empty regex\n  //\n  ^"),
        (
            "a*b",
            "1:1: '*' is only allowed at the end of a word\n  a*b\n  ^",
        ),
        (
            "n*",
            "1:1: prefix 'n*' is too short: write at least 2 letters before '*'\n  n*\n  ^",
        ),
        ("!!!", "1:1: '!!!' has no letters or digits\n  !!!\n  ^"),
        // Multi-line queries and column in characters (not bytes).
        (
            "nato\n  AND (Київ",
            "2:12: expected ')' after \"Київ\"\n    AND (Київ\n             ^",
        ),
        (
            "«x» )",
            "1:5: unexpected ')' without a matching '('\n  «x» )\n      ^",
        ),
    ];
    for (q, want) in cases {
        check_err(q, &format!("topic \"query\": query:{want}"));
    }
    let deep = format!("{}x{}", "(".repeat(100), ")".repeat(100));
    check_err(
        &deep,
        &format!(
            "topic \"query\": query:1:65: query nests too deeply (more than 64 levels)\n  {deep}\n  {}^",
            " ".repeat(64)
        ),
    );
    let nots = format!("a {}b", "NOT ".repeat(100));
    assert!(parse_query(&nots, &aliases()).is_err());
    let long = "a ".repeat(6000);
    let e = parse_query(&long, &aliases()).err().map(|e| e.message);
    assert_eq!(
        e.as_deref(),
        Some("query is too long (12000 bytes, at most 10240)")
    );
    let e = parse_query("/a{1000}{1000}{1000}/", &aliases())
        .err()
        .map(|e| e.message);
    assert!(e.is_some_and(|m| m.starts_with("invalid regex:")));
}

#[test]
fn alias_errors() {
    let bad = |name: &str, spellings: &[&str]| {
        let mut a = Aliases::new();
        a.insert(
            name.to_owned(),
            spellings.iter().map(|s| s.to_string()).collect(),
        );
        match compile_query("nato", &a) {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.to_string(),
        }
    };
    assert_eq!(
        bad("x", &[]),
        "topic \"@x\": query:1:1: alias '@x' has no spellings\n  \n  ^"
    );
    assert_eq!(
        bad("x", &["a", ""]),
        "topic \"@x\": query:1:1: alias '@x': spelling 2 is empty\n  \n  ^"
    );
    assert_eq!(
        bad("x", &["--"]),
        "topic \"@x\": query:1:1: alias '@x': spelling 1 '--' is not a word, a phrase or a prefix (at least 2 letters before a final '*')\n  --\n  ^"
    );
    assert_eq!(
        bad("x y", &["a"]).lines().next(),
        Some(
            "topic \"@x y\": query:1:1: alias name 'x y' must be non-empty without spaces, parentheses or quotes"
        )
    );
    assert_eq!(bad("x", &["peace talk*"]), "ok");
}

#[test]
fn explanations_offsets_and_snippet() {
    let title = "Зеленський і Путін: переговори";
    let summary = format!(
        "{} The Kremlin said Zelensky and Putin could meet for peace talks in Istanbul next week, officials said. {}",
        "Lorem ipsum dolor sit amet. ".repeat(10),
        "Trailing words here. ".repeat(10)
    );
    let q = match compile_query("@putin NEAR/12 @zelensky", &aliases()) {
        Ok(q) => q,
        Err(e) => panic!("{e}"),
    };
    let a = article(&[(T, title), ("summary", &summary)]);
    let Some(m) = q.matches(&a) else {
        panic!("no match")
    };
    // Only the summary has Latin spellings and Путін (Ukrainian) is not an alias spelling,
    // so the NEAR holds in the summary only.
    assert_eq!(
        render(Some(&m)),
        "@putin=Kremlin@summary; @zelensky=Zelensky@summary"
    );
    for h in &m.hits {
        assert_eq!(&summary[h.start..h.end], h.text);
    }
    let s = &m.snippet;
    assert_eq!(s.field, Some(Field::Summary));
    let n = s.text.chars().count();
    assert!((120..=170).contains(&n), "{n}: {}", s.text);
    assert!(
        s.text.starts_with('…') && s.text.ends_with('…'),
        "{}",
        s.text
    );
    let marked: Vec<&str> = s.segments().filter(|x| x.1).map(|x| x.0).collect();
    assert_eq!(marked, ["Kremlin", "Zelensky"]);
    assert!(
        s.to_plain_marked()
            .contains("The «Kremlin» said «Zelensky» and Putin could")
    );

    // Title preferred; multi-byte marks.
    let q = match compile_query("@zelensky", &aliases()) {
        Ok(q) => q,
        Err(e) => panic!("{e}"),
    };
    let Some(m) = q.matches(&a) else {
        panic!("no match")
    };
    assert_eq!(m.hits[0].field, Field::Title);
    assert_eq!(m.snippet.field, Some(Field::Title));
    assert_eq!(m.snippet.text, title);
    assert_eq!(
        m.snippet.to_plain_marked(),
        "«Зеленський» і Путін: переговори"
    );
}

#[test]
fn snippet_prefers_the_window_with_most_terms() {
    let content = format!(
        "nato {} nato summit geneva {} end",
        "filler ".repeat(40),
        "filler ".repeat(40)
    );
    let q = match compile_query("nato summit geneva", &aliases()) {
        Ok(q) => q,
        Err(e) => panic!("{e}"),
    };
    let Some(m) = q.matches(&article(&[("content", &content)])) else {
        panic!("no match")
    };
    assert!(
        m.snippet
            .to_plain_marked()
            .contains("«nato» «summit» «geneva»"),
        "{}",
        m.snippet.text
    );
    assert!(m.snippet.text.chars().count() <= 165);
}

#[test]
fn huge_and_pathological_inputs_return() {
    let q = match compile_query(
        "nato NEAR/5 nato NEAR/5 (summit OR /n.*o/) OR \"nato nato*\"",
        &aliases(),
    ) {
        Ok(q) => q,
        Err(e) => panic!("{e}"),
    };
    let big = "nato ".repeat(200_000);
    let m = q.matches(&article(&[(T, &big), ("summary", &big)]));
    assert!(m.is_some_and(|m| m.hits.len() <= 64 && m.snippet.text.len() < 1000));
    let weird =
        "e\u{301}\u{302}\u{303}".repeat(100_000) + &"👩\u{200D}💻\u{FE0F}".repeat(10_000) + "مرحبا";
    let _ = q.matches(&article(&[
        (T, &weird),
        ("content", &"\u{301}".repeat(300_000)),
    ]));
    let _ = q.matches(&Article::default());
}

#[test]
fn display_round_trips() {
    for q in [
        "a b OR c",
        "(a OR b) c",
        "NOT x a",
        "title:(a OR \"b c\") -d",
        "@zelensky NEAR/3 (x OR yy*) NEAR z",
        "(a NEAR b) NEAR c",
        "/a\\/b\\d/ summary:/x/",
        "\"peace talk*\"",
    ] {
        let e = match parse_query(q, &aliases()) {
            Ok(e) => e,
            Err(e) => panic!("{e}"),
        };
        let printed = e.to_string();
        assert_eq!(
            parse_query(&printed, &aliases()).ok(),
            Some(e),
            "{q} -> {printed}"
        );
    }
    assert_eq!(
        parse_query("a b OR c NEAR d", &aliases())
            .map(|e| e.to_string())
            .ok()
            .as_deref(),
        Some("a AND b OR c NEAR/10 d")
    );
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let word = "[a-z][a-z0-9]{0,5}";
    let leaf = prop_oneof![
        word.prop_map(Expr::Word),
        "[a-z]{2,6}".prop_map(Expr::Prefix),
        ("[a-z]{2,5}( [a-z]{2,5}){0,2}", any::<bool>())
            .prop_map(|(text, prefix)| Expr::Phrase { text, prefix }),
        prop_oneof![Just("zelensky"), Just("putin"), Just("TALKS")]
            .prop_map(|s| Expr::Alias(s.to_owned())),
        "[a-z/]{1,4}".prop_map(Expr::Regex),
    ];
    let scoped = (leaf, proptest::option::of(0..7usize)).prop_map(|(e, f)| match f {
        Some(f) => Expr::Field(Field::ALL[f], Box::new(e)),
        None => e,
    });
    scoped.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            (proptest::collection::vec(inner.clone(), 2..4), 0..20u32).prop_map(|(ops, n)| {
                let distances = vec![n; ops.len() - 1];
                Expr::Near {
                    operands: ops,
                    distances,
                }
            }),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parser_never_panics(q in "\\PC{0,80}") {
        let _ = parse_query(&q, &aliases());
    }

    #[test]
    fn parser_never_panics_on_query_like_text(
        q in proptest::collection::vec(
            prop_oneof![
                Just("AND"), Just("OR"), Just("NOT"), Just("NEAR/3"), Just("NEAR"), Just("("), Just(")"),
                Just("\""), Just("/"), Just("title:"), Just("@putin"), Just("nato"), Just("ta*"), Just("-"),
                Just(" "), Just("\\"), Just("*"), Just(":"), Just("é"), Just("\n"),
            ],
            0..30,
        )
    ) {
        let _ = parse_query(&q.concat(), &aliases());
    }

    #[test]
    fn print_then_parse_is_identity(e in arb_expr()) {
        let printed = e.to_string();
        match parse_query(&printed, &aliases()) {
            Ok(back) => prop_assert_eq!(back, e, "printed: {}", printed),
            // Valid syntax, rejected by a semantic check (NOT inside NEAR, pure negation,
            // `x AND NOT x`, nested scopes can't be generated).
            Err(err) => prop_assert!(
                err.message.contains("NOT") || err.message.contains("never match")
                    || err.message.contains("regex"),
                "printed: {} error: {}", printed, err
            ),
        }
    }

    #[test]
    fn matches_never_panics(title in "\\PC{0,200}", summary in any::<String>()) {
        let q = compile_query("@zelensky NEAR/3 (talk* OR \"peace talks\") OR /é+/ OR summary:(a NEAR b)", &aliases());
        prop_assert!(q.is_ok());
        if let Ok(q) = q {
            let a = article(&[(T, &title), ("summary", &summary)]);
            if let Some(m) = q.matches(&a) {
                for (s, e) in &m.snippet.marks {
                    prop_assert!(m.snippet.text.get(*s..*e).is_some());
                }
            }
        }
    }
}

#[test]
fn matcher_is_shareable_and_empty_is_fine() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Matcher>();
    shareable::<Query>();
    let m = Matcher::new(&[], &Aliases::new());
    assert!(m.is_ok_and(|m| m.matches(&article(&[(T, "nato")])).is_empty()));
}

#[test]
fn near_chain_ends_may_share_an_occurrence() {
    check(
        "nato NEAR/1 x NEAR/1 nato",
        &[(T, "nato x")],
        "nato=nato@title; x=x@title",
    );
}
