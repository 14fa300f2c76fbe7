package cycles

const haveTSC = true

// rdtsc returns the time-stamp counter. LFENCE before RDTSC makes the read
// wait for the instructions before it (AMD and Intel both document it so),
// so an end stamp does not land before the work it ends.
func rdtsc() uint64
