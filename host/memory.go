package host

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero/experimental"

	"github.com/wasmfaas/wasmfaas/abi"
)

// DefaultMemoryBudget is Config.MemoryBudget's default: the guest linear
// memory every instance of every function may hold together.
const DefaultMemoryBudget = 4 << 30

// budget is the host-wide budget of guest linear memory, in bytes. Every
// instance's memory reserves what it allocates and gives it back when the
// instance closes, so one function's memory bomb fails its own call and
// leaves the host and the other functions their memory.
//
// # Why a budget at the allocator?
//
// A limit per function (memory_pages) bounds one instance, not the host:
// 8 pooled instances of a function at 4 GiB each, or many functions, take
// the process past the machine's memory and the kernel kills everything.
// wazero lets the embedder supply the allocator of linear memory
// (experimental.MemoryAllocator); refusing a reallocation there makes the
// guest's memory.grow return -1, which every toolchain turns into an
// out-of-memory error or trap in that call only. Reserving at instantiation
// the function's whole memory_pages instead would be simpler but would
// count memory guests never touch (a Go guest declares far more than it
// uses) and turn idle pools into a cap on deploys.
type budget struct {
	limit int64
	used  atomic.Int64
}

func (b *budget) reserve(n int64) bool {
	if n <= 0 {
		return true
	}
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

func (b *budget) release(n int64) { b.used.Add(-n) }

// Used is the guest linear memory currently held by instances, in bytes.
func (h *Host) MemoryUsed() int64 { return h.budget.used.Load() }

// MemoryBudget is the host's budget of guest linear memory, in bytes.
func (h *Host) MemoryBudget() int64 { return h.budget.limit }

// budgetMemory is one instance's linear memory, allocated against the budget.
type budgetMemory struct {
	b        *budget
	buf      []byte
	max      uint64
	reserved int64 // bytes reserved in b: cap(buf)
	// refused is set when a growth was refused for the budget; the call
	// that saw it reports kind limit instead of the guest's own trap.
	refused atomic.Bool
}

var _ experimental.LinearMemory = (*budgetMemory)(nil)

// Reallocate grows the memory to size bytes. Capacity doubles (as append
// would) when the budget allows, so a guest growing page by page is not
// copied quadratically; otherwise it grows to exactly size, or not at all.
func (m *budgetMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
		return m.buf
	}
	newCap := min(max(size, 2*uint64(cap(m.buf))), m.max)
	if !m.b.reserve(int64(newCap) - m.reserved) {
		newCap = size
		if !m.b.reserve(int64(newCap) - m.reserved) {
			m.refused.Store(true)
			if m.buf != nil {
				return nil // memory.grow returns -1
			}
			// wazero cannot fail the first allocation (it panics on a
			// nil buffer): take it over the budget; newInstance sees
			// refused and closes the instance at once.
			m.b.used.Add(int64(newCap) - m.reserved)
		}
	}
	nb := takeMemory(newCap)[:size]
	copy(nb, m.buf)
	putMemory(m.buf)
	m.buf = nb
	m.reserved = int64(newCap)
	return m.buf
}

// Free gives the memory back to the budget.
func (m *budgetMemory) Free() {
	m.b.release(m.reserved)
	m.reserved = 0
	putMemory(m.buf)
	m.buf = nil
}

// pooledPages is the largest linear memory, in 64 KiB pages, that is kept
// for reuse when its instance closes: a C or Rust guest's whole memory
// (a fresh instance of a 2-page C guest allocated and zeroed 128 KiB per
// call, and its garbage was most of the call's GC work).
const pooledPages = 64

// memoryPools holds freed linear memories by capacity in pages, zeroed.
var memoryPools [pooledPages + 1]sync.Pool

// takeMemory returns a zeroed buffer of length and capacity n bytes.
func takeMemory(n uint64) []byte {
	if n%65536 == 0 && n/65536 <= pooledPages {
		if b, ok := memoryPools[n/65536].Get().(*[]byte); ok {
			return *b
		}
	}
	return make([]byte, n)
}

// putMemory zeroes b and keeps it for takeMemory. Zeroing what the guest
// could have written (b's length; a memory never shrinks) is what keeps one
// instance's data from the next: a reused memory must read as new.
func putMemory(b []byte) {
	n := uint64(cap(b))
	if n == 0 || n%65536 != 0 || n/65536 > pooledPages {
		return
	}
	clear(b)
	b = b[:n]
	memoryPools[n/65536].Put(&b)
}

// allocator returns an allocator whose one memory (a module defines one)
// is stored in *mem, for the instance to check after each call.
func (b *budget) allocator(mem **budgetMemory) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capacity, maxSize uint64) experimental.LinearMemory {
		m := &budgetMemory{b: b, max: maxSize}
		*mem = m
		return m
	})
}

// budgetError is an instantiation refused for the budget.
type budgetError struct{ limit int64 }

func (e *budgetError) Error() string {
	return fmt.Sprintf("the host's memory budget of %d MiB for guest memory is exhausted", e.limit>>20)
}

// checkBudget turns the outcome of a call whose memory growth the budget
// refused into kind limit: the guest's own report of it (a trap, an
// out-of-memory error) names a symptom, not the cause.
func (c *call) checkBudget(mem *budgetMemory) {
	if mem == nil || !mem.refused.Swap(false) || c.info.Status == StatusOK {
		return
	}
	c.info.Status = StatusError
	c.info.Error = &ErrorInfo{Kind: abi.KindLimit, Message: fmt.Sprintf(
		"the guest could not grow its memory: the host's memory budget of %d MiB for guest memory is exhausted", mem.b.limit>>20)}
}
