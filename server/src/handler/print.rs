//! `PRINT topic`: streams the raw records of a topic as text lines.

use parser::ast::Print;

use crate::engine::{Engine, LineStream, Session, StatementOutput};
use crate::{Result, user_error};

pub fn print(engine: &Engine, print: &Print, session: &Session) -> Result<StatementOutput> {
    let log = engine.topic_log();
    let topic = match log.describe_topic(&print.topic)? {
        Some(topic) => topic.name,
        None => {
            // Unquoted topic names may have been upper-cased by the user's intent.
            let lower = print.topic.to_lowercase();
            match log.describe_topic(&lower)? {
                Some(topic) => topic.name,
                None => {
                    return user_error(format!(
                        "Could not find topic '{}', or the KSQL user does not have permissions to list the topic. Topic names are case-sensitive.",
                        print.topic
                    ));
                }
            }
        }
    };
    let from_beginning = print.from_beginning
        || session
            .properties
            .get("auto.offset.reset")
            .is_some_and(|value| value.eq_ignore_ascii_case("earliest"));
    let (sender, receiver) = Engine::stream_channel();
    let handle = executor::query::start_print(
        &topic,
        log,
        from_beginning,
        print.interval.unwrap_or(1),
        print.limit,
        sender,
    )?;
    Ok(StatementOutput::Lines(LineStream { receiver, handle }))
}
