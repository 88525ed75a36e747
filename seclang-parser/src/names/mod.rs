//! The SecLang vocabulary: one table per kind of name (directives, variables, operators, actions,
//! transformations). Each table is an enum with its canonical spelling and accepted aliases;
//! lookups are ASCII case-insensitive, as in libmodsecurity's scanner. A name not in a table is
//! an error naming it.

/// Declares a name table: an enum, its canonical spellings and aliases.
macro_rules! name_table {
    (
        $(#[$meta:meta])*
        pub enum $ty:ident {
            $( $(#[$vmeta:meta])* $variant:ident => [$first:literal $(, $alias:literal)*] ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $ty {
            $( $(#[$vmeta])* $variant ),*
        }

        impl $ty {
            /// Every name of this table, in declaration order.
            pub const ALL: &'static [$ty] = &[ $( $ty::$variant ),* ];

            /// The canonical spelling, as the printer writes it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $ty::$variant => $first ),*
                }
            }

            /// Looks a name up, ignoring ASCII case; aliases included.
            pub fn from_name(name: &str) -> Option<$ty> {
                $(
                    if name.eq_ignore_ascii_case($first) $(|| name.eq_ignore_ascii_case($alias))* {
                        return Some($ty::$variant);
                    }
                )*
                None
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

mod actions;
mod directives;
mod operators;
mod transformations;
mod variables;

pub use actions::{ActionName, ArgumentKind, CtlName};
pub use directives::{DirectiveName, Shape};
pub use operators::OperatorName;
pub use transformations::TransformationName;
pub use variables::VariableName;
