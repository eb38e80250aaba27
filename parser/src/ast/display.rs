//! SQL text for the AST: every `Display` prints ksqlDB SQL that parses back to the same AST.
//!
//! Names are printed bare when that reads back the same, otherwise in backticks; struct field
//! names in types are always backticked, as ksqlDB prints them. Expressions print through
//! [`SqlExpr`], which writes lambdas the ksqlDB way (`x => x + 1`).

use std::fmt::{self, Display, Formatter};

use super::sql_text::{Commas, SqlExpr, SqlName, SqlString, exprs};
use super::{
    AlterSource, Assert, ColumnConstraint, CreateAsSelect, CreateSource, DataType, Describe,
    DropSource, Duration, Emit, Explain, InsertInto, InsertValues, Join, Literal, Print, Query,
    Relation, SelectItem, Show, Statement, StatementKind, TableElement, Terminate, TimeUnit,
    WindowExpr, WithProperties, Within,
};

impl Display for Statement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{};", self.kind)
    }
}

impl Display for StatementKind {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            StatementKind::CreateSource(create) => create.fmt(f),
            StatementKind::CreateAsSelect(create) => create.fmt(f),
            StatementKind::InsertInto(insert) => insert.fmt(f),
            StatementKind::InsertValues(insert) => insert.fmt(f),
            StatementKind::Select(query) => query.fmt(f),
            StatementKind::SqlQuery(text) => f.write_str(text),
            StatementKind::Show(show) => show.fmt(f),
            StatementKind::Describe(describe) => describe.fmt(f),
            StatementKind::DropSource(drop) => drop.fmt(f),
            StatementKind::Terminate(Terminate::All) => f.write_str("TERMINATE ALL"),
            StatementKind::Terminate(Terminate::Query(id)) => {
                write!(f, "TERMINATE {}", SqlName(id))
            }
            StatementKind::Print(print) => print.fmt(f),
            StatementKind::SetProperty { name, value } => {
                write!(f, "SET {}={}", SqlString(name), SqlString(value))
            }
            StatementKind::UnsetProperty { name } => write!(f, "UNSET {}", SqlString(name)),
            StatementKind::DefineVariable { name, value } => {
                write!(f, "DEFINE {name}={}", SqlString(value))
            }
            StatementKind::UndefineVariable { name } => write!(f, "UNDEFINE {name}"),
            StatementKind::Explain(Explain::Statement(statement)) => {
                write!(f, "EXPLAIN {}", statement.kind)
            }
            StatementKind::Explain(Explain::Query(id)) => write!(f, "EXPLAIN {}", SqlName(id)),
            StatementKind::RunScript { path } => write!(f, "RUN SCRIPT {}", SqlString(path)),
            StatementKind::CreateType {
                name,
                if_not_exists,
                data_type,
            } => {
                f.write_str("CREATE TYPE ")?;
                if *if_not_exists {
                    f.write_str("IF NOT EXISTS ")?;
                }
                write!(f, "{} AS {data_type}", SqlName(name))
            }
            StatementKind::DropType { name, if_exists } => {
                f.write_str("DROP TYPE ")?;
                if *if_exists {
                    f.write_str("IF EXISTS ")?;
                }
                SqlName(name).fmt(f)
            }
            StatementKind::AlterSource(alter) => alter.fmt(f),
            StatementKind::Assert(assert) => assert.fmt(f),
        }
    }
}

impl Display for CreateSource {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE ")?;
        if self.or_replace {
            f.write_str("OR REPLACE ")?;
        }
        if self.is_source {
            f.write_str("SOURCE ")?;
        }
        write!(f, "{} ", self.kind)?;
        if self.if_not_exists {
            f.write_str("IF NOT EXISTS ")?;
        }
        SqlName(&self.name).fmt(f)?;
        if !self.elements.is_empty() {
            write!(f, " ({})", Commas(&self.elements))?;
        }
        self.properties.fmt(f)
    }
}

impl Display for TableElement {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", SqlName(&self.name), self.data_type)?;
        match &self.constraint {
            ColumnConstraint::None => Ok(()),
            ColumnConstraint::Key => f.write_str(" KEY"),
            ColumnConstraint::PrimaryKey => f.write_str(" PRIMARY KEY"),
            ColumnConstraint::Headers => f.write_str(" HEADERS"),
            ColumnConstraint::Header(key) => write!(f, " HEADER({})", SqlString(key)),
        }
    }
}

impl Display for DataType {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Boolean => f.write_str("BOOLEAN"),
            DataType::Int => f.write_str("INTEGER"),
            DataType::Bigint => f.write_str("BIGINT"),
            DataType::Double => f.write_str("DOUBLE"),
            DataType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            DataType::String => f.write_str("STRING"),
            DataType::Bytes => f.write_str("BYTES"),
            DataType::Date => f.write_str("DATE"),
            DataType::Time => f.write_str("TIME"),
            DataType::Timestamp => f.write_str("TIMESTAMP"),
            DataType::Array(element) => write!(f, "ARRAY<{element}>"),
            DataType::Map(key, value) => write!(f, "MAP<{key}, {value}>"),
            DataType::Struct(fields) => {
                f.write_str("STRUCT<")?;
                for (index, (name, field_type)) in fields.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{}` {field_type}", name.replace('`', "``"))?;
                }
                f.write_str(">")
            }
            DataType::Custom(name) => SqlName(name).fmt(f),
        }
    }
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(text) => SqlString(text).fmt(f),
            Literal::Number(text) => f.write_str(text),
            Literal::Boolean(true) => f.write_str("TRUE"),
            Literal::Boolean(false) => f.write_str("FALSE"),
            Literal::Null => f.write_str("NULL"),
        }
    }
}

/// Prints ` WITH (NAME=value, ...)`, or nothing when there are no properties.
impl Display for WithProperties {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        f.write_str(" WITH (")?;
        for (index, (name, value)) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            if SqlName(name).to_string() == *name {
                write!(f, "{name}={value}")?;
            } else {
                write!(f, "{}={value}", SqlString(name))?;
            }
        }
        f.write_str(")")
    }
}

impl Display for CreateAsSelect {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("CREATE ")?;
        if self.or_replace {
            f.write_str("OR REPLACE ")?;
        }
        write!(f, "{} ", self.kind)?;
        if self.if_not_exists {
            f.write_str("IF NOT EXISTS ")?;
        }
        write!(
            f,
            "{}{} AS {}",
            SqlName(&self.name),
            self.properties,
            self.query
        )
    }
}

impl Display for InsertInto {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "INSERT INTO {}{} {}",
            SqlName(&self.target),
            self.properties,
            self.query
        )
    }
}

impl Display for InsertValues {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "INSERT INTO {}", SqlName(&self.target))?;
        if let Some(columns) = &self.columns {
            let names: Vec<SqlName<'_>> = columns.iter().map(|name| SqlName(name)).collect();
            write!(f, " ({})", Commas(&names))?;
        }
        write!(f, " VALUES ({})", exprs(&self.values))
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "SELECT {} FROM {}", Commas(&self.select), self.from)?;
        if let Some(window) = &self.window {
            write!(f, " WINDOW {window}")?;
        }
        if let Some(condition) = &self.where_clause {
            write!(f, " WHERE {}", SqlExpr(condition))?;
        }
        if !self.group_by.is_empty() {
            write!(f, " GROUP BY {}", exprs(&self.group_by))?;
        }
        if !self.partition_by.is_empty() {
            write!(f, " PARTITION BY {}", exprs(&self.partition_by))?;
        }
        if let Some(condition) = &self.having {
            write!(f, " HAVING {}", SqlExpr(condition))?;
        }
        match self.emit {
            Some(Emit::Changes) => f.write_str(" EMIT CHANGES")?,
            Some(Emit::Final) => f.write_str(" EMIT FINAL")?,
            None => {}
        }
        if let Some(limit) = self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        Ok(())
    }
}

impl Display for SelectItem {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            SelectItem::Wildcard => f.write_str("*"),
            SelectItem::QualifiedWildcard(source) => write!(f, "{}.*", SqlName(source)),
            SelectItem::StructWildcard(expr) => write!(f, "{}->*", SqlExpr(expr)),
            SelectItem::Expr { expr, alias: None } => SqlExpr(expr).fmt(f),
            SelectItem::Expr {
                expr,
                alias: Some(alias),
            } => write!(f, "{} AS {}", SqlExpr(expr), SqlName(alias)),
        }
    }
}

impl Display for Relation {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Relation::Source { name, alias } => {
                SqlName(name).fmt(f)?;
                if let Some(alias) = alias {
                    write!(f, " AS {}", SqlName(alias))?;
                }
                Ok(())
            }
            Relation::Join(join) => join.fmt(f),
        }
    }
}

impl Display for Join {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} JOIN {}",
            self.left,
            self.kind.keyword(),
            self.right
        )?;
        if let Some(within) = &self.within {
            write!(f, " {within}")?;
        }
        write!(f, " ON {}", SqlExpr(&self.on))
    }
}

impl Display for Within {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.before == self.after {
            write!(f, "WITHIN {}", self.before)?;
        } else {
            write!(f, "WITHIN ({}, {})", self.before, self.after)?;
        }
        if let Some(grace) = &self.grace {
            write!(f, " GRACE PERIOD {grace}")?;
        }
        Ok(())
    }
}

impl Display for Duration {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value, self.unit)
    }
}

impl Display for TimeUnit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeUnit::Milliseconds => "MILLISECONDS",
            TimeUnit::Seconds => "SECONDS",
            TimeUnit::Minutes => "MINUTES",
            TimeUnit::Hours => "HOURS",
            TimeUnit::Days => "DAYS",
        })
    }
}

/// `, RETENTION d` and `, GRACE PERIOD d` inside a window's parentheses.
fn window_options(
    f: &mut Formatter<'_>,
    retention: &Option<Duration>,
    grace: &Option<Duration>,
) -> fmt::Result {
    if let Some(retention) = retention {
        write!(f, ", RETENTION {retention}")?;
    }
    if let Some(grace) = grace {
        write!(f, ", GRACE PERIOD {grace}")?;
    }
    f.write_str(")")
}

impl Display for WindowExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            WindowExpr::Tumbling {
                size,
                retention,
                grace,
            } => {
                write!(f, "TUMBLING (SIZE {size}")?;
                window_options(f, retention, grace)
            }
            WindowExpr::Hopping {
                size,
                advance,
                retention,
                grace,
            } => {
                write!(f, "HOPPING (SIZE {size}, ADVANCE BY {advance}")?;
                window_options(f, retention, grace)
            }
            WindowExpr::Session {
                gap,
                retention,
                grace,
            } => {
                write!(f, "SESSION ({gap}")?;
                window_options(f, retention, grace)
            }
        }
    }
}

fn extended(extended: bool) -> &'static str {
    if extended { " EXTENDED" } else { "" }
}

impl Display for Show {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Show::Streams { extended: e } => write!(f, "SHOW STREAMS{}", extended(*e)),
            Show::Tables { extended: e } => write!(f, "SHOW TABLES{}", extended(*e)),
            Show::Topics { all, extended: e } => {
                let all = if *all { "ALL " } else { "" };
                write!(f, "SHOW {all}TOPICS{}", extended(*e))
            }
            Show::Queries { extended: e } => write!(f, "SHOW QUERIES{}", extended(*e)),
            Show::Properties => f.write_str("SHOW PROPERTIES"),
            Show::Functions => f.write_str("SHOW FUNCTIONS"),
            Show::Types => f.write_str("SHOW TYPES"),
            Show::Variables => f.write_str("SHOW VARIABLES"),
        }
    }
}

impl Display for Describe {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Describe::Source { name, extended: e } => {
                write!(f, "DESCRIBE {}{}", SqlName(name), extended(*e))
            }
            Describe::Streams { extended: e } => write!(f, "DESCRIBE STREAMS{}", extended(*e)),
            Describe::Tables { extended: e } => write!(f, "DESCRIBE TABLES{}", extended(*e)),
            Describe::Function { name } => write!(f, "DESCRIBE FUNCTION {}", SqlName(name)),
        }
    }
}

impl Display for DropSource {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "DROP {} ", self.kind)?;
        if self.if_exists {
            f.write_str("IF EXISTS ")?;
        }
        SqlName(&self.name).fmt(f)?;
        if self.delete_topic {
            f.write_str(" DELETE TOPIC")?;
        }
        Ok(())
    }
}

impl Display for Print {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "PRINT {}", SqlString(&self.topic))?;
        if self.from_beginning {
            f.write_str(" FROM BEGINNING")?;
        }
        if let Some(interval) = self.interval {
            write!(f, " INTERVAL {interval}")?;
        }
        if let Some(limit) = self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        Ok(())
    }
}

impl Display for AlterSource {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "ALTER {} {} ", self.kind, SqlName(&self.name))?;
        for (index, column) in self.columns.iter().enumerate() {
            if index > 0 {
                f.write_str(", ")?;
            }
            write!(f, "ADD COLUMN {column}")?;
        }
        Ok(())
    }
}

impl Display for Assert {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (exists, timeout) = match self {
            Assert::Topic {
                exists, timeout, ..
            }
            | Assert::Schema {
                exists, timeout, ..
            } => (*exists, timeout),
        };
        f.write_str(if exists {
            "ASSERT "
        } else {
            "ASSERT NOT EXISTS "
        })?;
        match self {
            Assert::Topic {
                name, properties, ..
            } => write!(f, "TOPIC {}{properties}", SqlString(name))?,
            Assert::Schema { subject, id, .. } => {
                f.write_str("SCHEMA")?;
                if let Some(subject) = subject {
                    write!(f, " SUBJECT {}", SqlString(subject))?;
                }
                if let Some(id) = id {
                    write!(f, " ID {id}")?;
                }
            }
        }
        if let Some(timeout) = timeout {
            write!(f, " TIMEOUT {timeout}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_types_print_like_ksql() {
        let cases = [
            (DataType::Int, "INTEGER"),
            (
                DataType::Decimal {
                    precision: 4,
                    scale: 2,
                },
                "DECIMAL(4, 2)",
            ),
            (
                DataType::Map(Box::new(DataType::String), Box::new(DataType::Int)),
                "MAP<STRING, INTEGER>",
            ),
            (
                DataType::Struct(vec![("ID".to_string(), DataType::Int)]),
                "STRUCT<`ID` INTEGER>",
            ),
            (DataType::Custom("address".to_string()), "`address`"),
        ];
        for (data_type, expected) in cases {
            assert_eq!(data_type.to_string(), expected);
        }
    }
}
