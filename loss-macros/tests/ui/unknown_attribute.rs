use loss_core::loss;

loss! {
    #[inline]
    pub fn f(#[grad] #[scale] z: Vector<C>) {
        sum(z)
    }
}

fn main() {}
