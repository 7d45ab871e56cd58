//! What one evaluation may cost. A definition is at most 16 MB, but a few
//! lines can still ask for exponential work (forty lines that each double a
//! string), a deep recursion (a 10,000-step reference chain) or quadratic
//! copies (a 5,000-deep import chain). Each is bounded here, far above what a
//! real environment needs, so that any definition finishes in about a second
//! and a few hundred MB, or stops with one error naming the limit.
//!
//! When a limit is reached, evaluation stops: every value not yet computed
//! becomes unknown, and only the first error is reported.

/// The total size of the values an evaluation computes, copies included
/// (string bytes plus [`NODE_WEIGHT`] per value), in bytes. A large real
/// environment computes a few MB.
pub const MAX_WEIGHT: u64 = 128 * 1024 * 1024;

/// What one value counts for besides its text: about what it occupies.
pub const NODE_WEIGHT: u64 = 48;

/// How deeply evaluations may nest: a reference inside a value under
/// evaluation, a builtin's argument, a nested mapping each take a level
/// (a document nests at most 256 mappings). It keeps the evaluator's
/// recursion within a thread's stack, unoptimized builds on 2 MB threads
/// included; a real environment nests a few dozen levels.
pub const MAX_EVAL_DEPTH: usize = 300;

/// The stack the evaluator's recursion may use, whatever the shape of the
/// nesting: a backstop to [`MAX_EVAL_DEPTH`] that leaves room on a 2 MB
/// thread (the `escsh` binary's main thread has 8 MB).
pub const MAX_STACK: usize = 1024 * 1024;

/// How deeply a computed value may nest (a mapping holding a reference to a
/// mapping holding a reference ...). Everything that walks a value recurses.
pub const MAX_VALUE_DEPTH: usize = 1_000;

/// How long a chain of imports may be (an import of an import ...).
pub const MAX_IMPORT_DEPTH: usize = 64;

/// How many definitions one evaluation may load (imports and
/// `${environments...}` references, each loaded and parsed once).
pub const MAX_ENVIRONMENTS: usize = 1_000;

/// How many YAML nodes (scalars, lists, mappings) the definitions of one
/// evaluation may hold together. Memory grows with nodes, not bytes: 16 MB
/// of `- a` lines is four million of them. The largest real environments
/// hold a few thousand.
pub const MAX_NODES: usize = 250_000;

/// Which limit stopped an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Weight,
    EvalDepth,
    Stack,
    ValueDepth,
    ImportDepth,
    Environments,
    Nodes,
}

impl Limit {
    /// The diagnostic: which limit, its value, and what to look for.
    pub fn message(self) -> String {
        let mib = MAX_WEIGHT / (1024 * 1024);
        match self {
            Limit::Weight => format!(
                "evaluation stopped: the values computed here exceed escsh's limit of {mib} MiB in total (copies included); look for values that repeat or double other values"
            ),
            Limit::EvalDepth => format!(
                "evaluation stopped: evaluation nests deeper than escsh's limit of {MAX_EVAL_DEPTH} levels here; shorten the chain of references (a reference to a reference to ...)"
            ),
            Limit::Stack => format!(
                "evaluation stopped: evaluation nests deeper than escsh's limit of {} MiB of stack here; shorten the chain of references (a reference to a reference to ...)",
                MAX_STACK / (1024 * 1024)
            ),
            Limit::ValueDepth => format!(
                "evaluation stopped: this value nests deeper than escsh's limit of {MAX_VALUE_DEPTH} levels; flatten the values that hold references to each other"
            ),
            Limit::ImportDepth => format!(
                "evaluation stopped: imports nest deeper than escsh's limit of {MAX_IMPORT_DEPTH} environments here; flatten the chain of imports"
            ),
            Limit::Nodes => format!(
                "evaluation stopped: the definitions read for this evaluation hold more than escsh's limit of {MAX_NODES} values (YAML nodes) here; split the environment or import less"
            ),
            Limit::Environments => format!(
                "evaluation stopped: this evaluation would load more than escsh's limit of {MAX_ENVIRONMENTS} environments; import fewer"
            ),
        }
    }
}

/// Where the stack is now: the address of a local, which is all a depth
/// check needs (stacks grow down on every platform escsh runs on).
#[inline(always)]
pub fn stack_mark() -> usize {
    let here = 0u8;
    std::hint::black_box(std::ptr::addr_of!(here)) as usize
}

/// The running account of one evaluation.
#[derive(Debug, Default)]
pub struct Budget {
    /// [`stack_mark`] where the evaluation started.
    pub stack_base: usize,
    weight: u64,
    pub eval_depth: usize,
    pub import_depth: usize,
    pub environments: usize,
    /// YAML nodes the definitions may still hold ([`MAX_NODES`] in all).
    pub nodes_left: usize,
    /// The limit that stopped the evaluation, once one has.
    pub stopped: Option<Limit>,
}

impl Budget {
    /// A fresh account whose stack is measured from here.
    pub fn starting_here() -> Budget {
        Budget {
            stack_base: stack_mark(),
            nodes_left: MAX_NODES,
            ..Budget::default()
        }
    }

    /// Adds `weight` to the account; `Err` when that passes the limit.
    pub fn charge(&mut self, weight: u64) -> Result<(), Limit> {
        self.weight = self.weight.saturating_add(weight);
        if self.weight > MAX_WEIGHT {
            return Err(Limit::Weight);
        }
        Ok(())
    }

    /// Whether the recursion has used more stack than [`MAX_STACK`].
    pub fn stack_exhausted(&self) -> bool {
        self.stack_base.saturating_sub(stack_mark()) > MAX_STACK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_add_up_to_the_limit() {
        let mut b = Budget::default();
        assert_eq!(b.charge(MAX_WEIGHT - 1), Ok(()));
        assert_eq!(b.charge(1), Ok(()));
        assert_eq!(b.charge(1), Err(Limit::Weight));
        assert_eq!(b.charge(u64::MAX), Err(Limit::Weight));
    }

    #[test]
    fn messages_name_the_limit_and_its_value() {
        assert!(Limit::Weight.message().contains("128 MiB"));
        assert!(Limit::EvalDepth.message().contains("300 levels"));
        assert!(Limit::Stack.message().contains("1 MiB of stack"));
        assert!(Limit::ValueDepth.message().contains("1000 levels"));
        assert!(Limit::ImportDepth.message().contains("64 environments"));
        assert!(Limit::Environments.message().contains("1000 environments"));
        assert!(Limit::Nodes.message().contains("250000 values"));
    }
}
