//! Crate-internal macros.

/// `with_*` setters for an options struct, inside its `impl` block: each line
/// `/// doc` `with_x(x: T);` makes `pub fn with_x(mut self, x: T) -> Self` setting field `x`,
/// and `with_x(x: impl Into<U>).into();` converts the argument first. Each is `#[must_use]`.
macro_rules! with_setters {
    ($( $(#[$doc:meta])* $setter:ident($field:ident: $ty:ty) $(.$convert:ident())? ;)*) => {
        $(
            $(#[$doc])*
            #[must_use]
            pub fn $setter(mut self, $field: $ty) -> Self {
                self.$field = $field $(.$convert())?;
                self
            }
        )*
    };
}

/// For a field-less enum: `ALL` and `NAMES` (in declaration order), `name()`, `Display` and `FromStr` (any case, `_` for `-`; an unknown name is an
/// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for `$what` listing the
/// names). Variants are listed as `Variant = "name"`.
macro_rules! names {
    ($ty:ident, $what:literal: $($variant:ident = $name:literal),+ $(,)?) => {
        impl $ty {
            #[doc = concat!("Every value, in the order of [`", stringify!($ty), "::NAMES`].")]
            pub const ALL: [$ty; [$($name),+].len()] = [$(Self::$variant),+];

            #[doc = concat!("The names `", stringify!($ty), "::from_str` accepts (any case, `_` for `-`) and `Display` prints.")]
            pub const NAMES: [&'static str; [$($name),+].len()] = [$($name),+];

            #[doc = concat!("The name, as in [`", stringify!($ty), "::NAMES`].")]
            #[must_use]
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = crate::Error;

            fn from_str(s: &str) -> crate::Result<Self> {
                crate::error::parse_name($what, &Self::NAMES, &Self::ALL, s)
            }
        }
    };
}

/// A backend dewarper's accessors of what it works with, inside its `impl` block: `view`,
/// `set_view` (the view checked first), `options`, `set_options` and `calibration`, over
/// fields of those names. Each backend takes a change into account on its next frame, as
/// the two doc lines given say.
macro_rules! dewarper_settings {
    (set_view: $set_view_doc:literal, set_options: $set_options_doc:literal $(,)?) => {
        /// The current view.
        #[must_use]
        pub fn view(&self) -> &crate::model::View {
            &self.view
        }

        #[doc = $set_view_doc]
        pub fn set_view(&mut self, view: crate::model::View) -> crate::Result<()> {
            view.validate()?;
            self.view = view;
            Ok(())
        }

        /// The sampling options.
        #[must_use]
        pub fn options(&self) -> &crate::options::DewarpOptions {
            &self.options
        }

        #[doc = $set_options_doc]
        pub fn set_options(&mut self, options: crate::options::DewarpOptions) {
            self.options = options;
        }

        /// The calibration, at the size it was made.
        #[must_use]
        pub fn calibration(&self) -> &crate::model::Calibration {
            &self.calibration
        }
    };
}
