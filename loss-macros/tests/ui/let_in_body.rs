use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>, y: Class<C>) {
        let lse = logsumexp(z);
        lse - z[y]
    }
}

fn main() {}
