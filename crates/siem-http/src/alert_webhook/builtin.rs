//! The built-in notification bodies: a Slack incoming-webhook message, a Teams Adaptive Card
//! message and a PagerDuty Events API v2 trigger. Each is a struct serialized by serde, so a
//! field value is always a JSON string and never changes the body's shape.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use siem_event::Severity;

use super::facts::{truncate, AlertFacts, Fact};

/// Slack's limits: header text 150 characters, section text 3000, a field 2000, ten fields
/// per section.
const SLACK_HEADER_CHARS: usize = 150;
const SLACK_TEXT_CHARS: usize = 3000;
const SLACK_FIELD_CHARS: usize = 2000;
const SLACK_FIELDS_PER_SECTION: usize = 10;

/// PagerDuty truncates `summary` at 1024 characters; cutting it here keeps the `…` visible.
const PAGERDUTY_SUMMARY_CHARS: usize = 1024;

#[derive(Serialize)]
struct SlackMessage {
    text: String,
    blocks: Vec<SlackBlock>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum SlackBlock {
    Header {
        text: SlackText,
    },
    Section {
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<SlackText>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<SlackText>,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum SlackText {
    PlainText { text: String },
    Mrkdwn { text: String },
}

/// Text for Slack's `mrkdwn`, where `<…>` makes links and mentions (`<!channel>`): `&`, `<`
/// and `>` escaped as Slack asks, so a field value cannot ping a channel or hide a link.
fn slack_escape(text: &str) -> String {
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

/// `{"text": <title: message>, "blocks": [header, message section, fact sections]}`.
pub(crate) fn slack(alert: &AlertFacts<'_>, out: &mut Vec<u8>) {
    let mut blocks = vec![
        SlackBlock::Header {
            text: SlackText::PlainText {
                text: truncate(&alert.title(), SLACK_HEADER_CHARS),
            },
        },
        SlackBlock::Section {
            text: Some(SlackText::Mrkdwn {
                text: truncate(&slack_escape(alert.message()), SLACK_TEXT_CHARS),
            }),
            fields: Vec::new(),
        },
    ];
    let facts = alert.facts();
    for chunk in facts.chunks(SLACK_FIELDS_PER_SECTION) {
        blocks.push(SlackBlock::Section {
            text: None,
            fields: chunk
                .iter()
                .map(|f| SlackText::Mrkdwn {
                    text: truncate(
                        &format!("*{}*\n{}", f.label, slack_escape(&f.value)),
                        SLACK_FIELD_CHARS,
                    ),
                })
                .collect(),
        });
    }
    let message = SlackMessage {
        text: truncate(
            &slack_escape(&format!("{}: {}", alert.title(), alert.message())),
            SLACK_TEXT_CHARS,
        ),
        blocks,
    };
    write(&message, out);
}

#[derive(Serialize)]
struct TeamsMessage {
    #[serde(rename = "type")]
    kind: &'static str,
    attachments: [TeamsAttachment; 1],
}

#[derive(Serialize)]
struct TeamsAttachment {
    #[serde(rename = "contentType")]
    content_type: &'static str,
    #[serde(rename = "contentUrl")]
    content_url: Option<&'static str>,
    content: AdaptiveCard,
}

#[derive(Serialize)]
struct AdaptiveCard {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    version: &'static str,
    body: Vec<RichTextBlock>,
}

/// A `RichTextBlock`: unlike `TextBlock`, Teams reads no Markdown (`[link](url)`, `**`) and
/// no `{{DATE()}}` functions in it, so field values show as they are.
#[derive(Serialize)]
struct RichTextBlock {
    #[serde(rename = "type")]
    kind: &'static str,
    inlines: Vec<TextRun>,
}

#[derive(Serialize)]
struct TextRun {
    #[serde(rename = "type")]
    kind: &'static str,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    weight: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<&'static str>,
}

impl TextRun {
    fn plain(text: impl Into<String>) -> TextRun {
        TextRun {
            kind: "TextRun",
            text: text.into(),
            weight: None,
            size: None,
            color: None,
        }
    }
}

fn rich(inlines: Vec<TextRun>) -> RichTextBlock {
    RichTextBlock {
        kind: "RichTextBlock",
        inlines,
    }
}

/// A Teams message holding one Adaptive Card (1.4): the title (coloured by severity), the
/// message, and a line per fact (`Rule: brute_force`), all as rich text runs — what Teams'
/// Workflows incoming webhooks accept.
pub(crate) fn teams(alert: &AlertFacts<'_>, out: &mut Vec<u8>) {
    let color = match alert.severity() {
        Severity::Critical | Severity::High => "Attention",
        Severity::Medium => "Warning",
        _ => "Default",
    };
    let mut body = vec![
        rich(vec![TextRun {
            weight: Some("Bolder"),
            size: Some("Medium"),
            color: Some(color),
            ..TextRun::plain(alert.title())
        }]),
        rich(vec![TextRun::plain(alert.message())]),
    ];
    for fact in alert.facts() {
        body.push(rich(vec![
            TextRun {
                weight: Some("Bolder"),
                ..TextRun::plain(format!("{}: ", fact.label))
            },
            TextRun::plain(fact.value),
        ]));
    }
    let card = AdaptiveCard {
        schema: "http://adaptivecards.io/schemas/adaptive-card.json",
        kind: "AdaptiveCard",
        version: "1.4",
        body,
    };
    let message = TeamsMessage {
        kind: "message",
        attachments: [TeamsAttachment {
            content_type: "application/vnd.microsoft.card.adaptive",
            content_url: None,
            content: card,
        }],
    };
    write(&message, out);
}

#[derive(Serialize)]
struct PagerDutyEvent<'a> {
    routing_key: &'a str,
    event_action: &'static str,
    dedup_key: String,
    client: &'static str,
    payload: PagerDutyPayload<'a>,
}

#[derive(Serialize)]
struct PagerDutyPayload<'a> {
    summary: String,
    severity: &'static str,
    source: String,
    timestamp: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    component: &'a str,
    group: String,
    class: &'a str,
    custom_details: Details,
}

/// The facts as a JSON object in their order, the message first.
struct Details(Vec<Fact>);

impl Serialize for Details {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for fact in &self.0 {
            map.serialize_entry(fact.key, &fact.value)?;
        }
        map.end()
    }
}

/// PagerDuty's four severities for our five.
fn pagerduty_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "critical",
        Severity::High => "error",
        Severity::Medium => "warning",
        _ => "info",
    }
}

/// An Events API v2 `trigger` whose `dedup_key` is the alert's id: a retried request adds
/// nothing to the incident it opened.
pub(crate) fn pagerduty(alert: &AlertFacts<'_>, routing_key: &str, out: &mut Vec<u8>) {
    let event = alert.event;
    let source = [&*event.host, &*event.app]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("tracing-siem");
    let mut details = vec![Fact {
        key: "message",
        label: "Message",
        value: alert.message().to_owned(),
    }];
    details.extend(alert.facts());
    let body = PagerDutyEvent {
        routing_key,
        event_action: "trigger",
        dedup_key: alert.field("id").into_owned(),
        client: "tracing-siem",
        payload: PagerDutyPayload {
            summary: truncate(
                &format!("{}: {}", alert.title(), alert.message()),
                PAGERDUTY_SUMMARY_CHARS,
            ),
            severity: pagerduty_severity(event.severity),
            source: source.to_owned(),
            timestamp: alert.field("timestamp").into_owned(),
            component: &event.app,
            group: alert.rule().into_owned(),
            class: event.event_type.as_str(),
            custom_details: Details(details),
        },
    };
    write(&body, out);
}

fn write(body: &impl Serialize, out: &mut Vec<u8>) {
    // These structs hold strings and maps with string keys only: serializing cannot fail.
    let _ = serde_json::to_writer(out, body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_mentions_and_links_are_escaped() {
        assert_eq!(
            slack_escape("<!channel> & <https://evil|click>"),
            "&lt;!channel&gt; &amp; &lt;https://evil|click&gt;"
        );
    }

    #[test]
    fn severities_map_to_pagerduty_levels() {
        let mapped: Vec<&str> = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Info,
        ]
        .into_iter()
        .map(pagerduty_severity)
        .collect();
        assert_eq!(mapped, ["critical", "error", "warning", "info", "info"]);
    }
}
