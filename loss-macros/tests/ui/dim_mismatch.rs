use loss_core::loss;

loss! {
    pub fn pq(#[grad] p: Vector<C>, q: Vector<D>) {
        sum(p + q)
    }
}

fn main() {}
