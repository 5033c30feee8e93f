package train

import "math/rand/v2"

// Order turns a cursor over a dataset of n examples into example indices.
// With Shuffle, each pass (epoch) over the data visits the examples in a
// fresh permutation drawn from (Seed, epoch) alone; without, the cursor c
// maps to c mod n. A stream is therefore fully described by its cursor, and a
// resumed run that sets the cursor draws exactly what an uninterrupted one
// would.
type Order struct {
	N       int
	Shuffle bool
	Seed    uint64
	// Cursor counts the examples consumed so far.
	Cursor int

	perm  []int
	epoch int
	valid bool
}

// Next returns the index of the next example and advances the cursor.
func (o *Order) Next() int {
	if o.N <= 0 {
		panic("train: Order over an empty dataset")
	}
	pos := o.Cursor % o.N
	if o.Shuffle {
		if e := o.Cursor / o.N; !o.valid || e != o.epoch {
			o.perm = rand.New(rand.NewPCG(o.Seed, uint64(e))).Perm(o.N)
			o.epoch, o.valid = e, true
		}
		pos = o.perm[pos]
	}
	o.Cursor++
	return pos
}
