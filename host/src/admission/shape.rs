//! What a GraphQL request asks for, read from its document before it runs:
//! the operation type and its root fields (aliases and fragments included).

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet};

/// The root fields that start a generation: each is one write and counts
/// against the daily and queue limits.
const STARTS: [&str; 2] = ["generate", "videoCreate"];

/// The operation type of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A document that does not parse or does not say which operation to
    /// run: execution reports why (it counts as a read).
    Unknown,
    /// A query.
    Query,
    /// A mutation.
    Mutation,
    /// A subscription.
    Subscription,
}

/// What a request asks for, as far as limits, idempotency and metrics care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The operation type.
    pub kind: Kind,
    /// Root fields of the operation, aliases and fragments included
    /// (`__typename` excepted).
    pub roots: usize,
    /// Root fields that start a generation (`generate`, `videoCreate`).
    pub starts: usize,
}

impl Shape {
    /// A mutation whose only root field starts one generation.
    pub fn starts_one(&self) -> bool {
        self.kind == Kind::Mutation && self.roots == 1 && self.starts == 1
    }

    /// Whether the operation changes anything.
    pub fn is_write(&self) -> bool {
        self.kind == Kind::Mutation
    }

    /// The metrics label of the operation.
    pub fn operation(&self) -> crate::metrics::Operation {
        use crate::metrics::Operation;
        match self.kind {
            Kind::Mutation if self.starts_one() => Operation::Generate,
            Kind::Mutation => Operation::Mutation,
            Kind::Unknown | Kind::Query | Kind::Subscription => Operation::Query,
        }
    }
}

/// The [`Shape`] of `query` (run as `operation_name`).
pub fn inspect(query: &str, operation_name: Option<&str>) -> Shape {
    let unknown = Shape { kind: Kind::Unknown, roots: 0, starts: 0 };
    let Ok(doc) = async_graphql::parser::parse_query(query) else { return unknown };
    let operation = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    };
    let Some(operation) = operation else { return unknown };
    let mut names = Vec::new();
    roots(&operation.node.selection_set.node, &doc, 0, &mut names);
    let kind = match operation.node.ty {
        OperationType::Query => Kind::Query,
        OperationType::Mutation => Kind::Mutation,
        OperationType::Subscription => Kind::Subscription,
    };
    let starts = names.iter().filter(|name| STARTS.contains(name)).count();
    Shape { kind, roots: names.len(), starts }
}

/// Root field names, looking through fragments (a few levels: fragments
/// that nest deeper are refused by validation or the depth limit anyway).
fn roots<'a>(set: &'a SelectionSet, doc: &'a ExecutableDocument, depth: usize, out: &mut Vec<&'a str>) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) if f.node.name.node != "__typename" => out.push(f.node.name.node.as_str()),
            Selection::Field(_) => {}
            Selection::InlineFragment(f) if depth < 4 => roots(&f.node.selection_set.node, doc, depth + 1, out),
            Selection::FragmentSpread(s) if depth < 4 => {
                if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                    roots(&f.node.selection_set.node, doc, depth + 1, out);
                }
            }
            _ => out.push("…"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_aliases_fragments_and_starts() {
        let s = inspect("mutation { a: generate(input: {}) { id } b: generate(input: {}) { id } }", None);
        assert_eq!((s.kind, s.roots, s.starts), (Kind::Mutation, 2, 2));
        assert!(!s.starts_one());
        let s = inspect("mutation { ...F } fragment F on MutationRoot { generate(input: {}) { id } }", None);
        assert!(s.starts_one());
        let s = inspect("mutation { cancelGeneration(id: \"x\") __typename }", None);
        assert_eq!((s.roots, s.starts), (1, 0));
        let s = inspect("subscription { generationUpdated(id: \"x\") { id } }", None);
        assert_eq!(s.kind, Kind::Subscription);
        assert_eq!(inspect("not graphql", None).kind, Kind::Unknown);
        let two = "query A { account { id } } mutation B { generate(input: {}) { id } }";
        assert_eq!(inspect(two, Some("B")).kind, Kind::Mutation);
        assert_eq!(inspect(two, None).kind, Kind::Unknown);
    }
}
