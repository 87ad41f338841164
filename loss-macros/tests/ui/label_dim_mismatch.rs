use loss_core::loss;

loss! {
    pub fn f(#[grad] z: Vector<C>, y: Class<K>, u: Vector<K>) {
        cross_entropy(z, y) + sum(u)
    }
}

fn main() {}
