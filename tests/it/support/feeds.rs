//! Small feeds built in code, for tests that need to change a feed between polls.

/// One RSS item. Text fields are plain text; they are XML-escaped when rendered.
#[derive(Debug, Clone)]
pub struct Item {
    pub guid: String,
    pub title: String,
    pub description: String,
    pub link: String,
    /// RFC 2822 date, e.g. `Tue, 22 Mar 2022 09:30:00 GMT`.
    pub pub_date: String,
}

impl Item {
    /// An item with a guid and link derived from `slug`.
    pub fn new(slug: &str, title: &str, description: &str) -> Item {
        Item {
            guid: format!("test-{slug}"),
            title: title.to_owned(),
            description: description.to_owned(),
            link: format!("https://example.com/news/{slug}"),
            pub_date: "Wed, 23 Mar 2022 10:00:00 GMT".to_owned(),
        }
    }

    pub fn to_xml(&self) -> String {
        format!(
            "    <item>\n      <title>{}</title>\n      <link>{}</link>\n      \
             <guid isPermaLink=\"false\">{}</guid>\n      <pubDate>{}</pubDate>\n      \
             <description>{}</description>\n    </item>",
            xml_escape(&self.title),
            xml_escape(&self.link),
            xml_escape(&self.guid),
            xml_escape(&self.pub_date),
            xml_escape(&self.description),
        )
    }
}

/// An RSS 2.0 document with the given channel title and items.
pub fn rss(channel_title: &str, items: &[Item]) -> Vec<u8> {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\">\n  <channel>\n    \
         <title>{}</title>\n    <link>https://example.com/</link>\n    \
         <description>test feed</description>\n",
        xml_escape(channel_title)
    );
    for item in items {
        out.push_str(&item.to_xml());
        out.push('\n');
    }
    out.push_str("  </channel>\n</rss>\n");
    out.into_bytes()
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What a notification body must carry for feed text: `&`, `<`, `>` escaped (trap 2).
pub fn markup_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
