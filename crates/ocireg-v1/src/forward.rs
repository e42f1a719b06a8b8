//! [`forward_to_pointee!`]: implements a view trait for smart pointers by
//! forwarding every method, provided ones included, to the pointee.

/// Implements `$trait` for `$ptr<T>` (each of the listed pointers, e.g.
/// `Arc` and `Box`) where `T: $trait + ?Sized`, forwarding every listed
/// method to `**self`, so that a source's overrides of provided methods are
/// kept behind the pointer.
///
/// List every method of the trait: the impls deny
/// `clippy::missing_trait_methods`, so a method added to the trait but not
/// here fails the lint instead of silently falling back to its default.
macro_rules! forward_to_pointee {
    ($trait:ident for [$($ptr:ident),+] $methods:tt) => {
        $($crate::forward::forward_to_pointee!(@impl $trait, $ptr, $methods);)+
    };
    (@impl $trait:ident, $ptr:ident, {
        $(async fn $am:ident(&self $(, $aarg:ident: $aty:ty)*) -> $aret:ty;)*
        $(fn $sm:ident(&self) -> $sret:ty;)*
    }) => {
        #[::async_trait::async_trait]
        #[deny(clippy::missing_trait_methods)]
        impl<T: $trait + ?Sized> $trait for $ptr<T> {
            $(
                async fn $am(&self $(, $aarg: $aty)*) -> $aret {
                    (**self).$am($($aarg),*).await
                }
            )*
            $(
                fn $sm(&self) -> $sret {
                    (**self).$sm()
                }
            )*
        }
    };
}

pub(crate) use forward_to_pointee;
