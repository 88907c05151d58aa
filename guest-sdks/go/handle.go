package wasmfaas

// handler is the function registered with Handle.
var handler func(ctx *Context, ev *Event) error

// Handle registers h as the module's handler. Call it exactly once, from an
// init function: a reactor module's main never runs.
//
// h's returned error decides the call's outcome: nil is success; an *Error
// (see Errorf and Reject) reports its kind, invalid_input making the call
// "rejected"; any other error reports kind "error". A panic is not
// recovered: it ends the call as a trap, which is what a bug should do.
func Handle(h func(ctx *Context, ev *Event) error) {
	if h == nil {
		panic("wasmfaas: Handle(nil)")
	}
	if handler != nil {
		panic("wasmfaas: Handle called twice; a module has exactly one handler")
	}
	handler = h
}

// HandleJSON registers h as the module's handler, with the event data
// decoded as JSON into a T. Fields tagged `wasmfaas:"required"` must be
// present and not null, and if T or *T has a Validate() error method it must
// return nil. Otherwise the call is rejected (kind invalid_input) with a
// message saying what is wrong, such as `data: field "tempc" is required`,
// and h is not called.
func HandleJSON[T any](h func(ctx *Context, ev *Event, data T) error) {
	if h == nil {
		panic("wasmfaas: HandleJSON(nil)")
	}
	Handle(func(ctx *Context, ev *Event) error {
		var data T
		if err := ev.DecodeJSON(&data); err != nil {
			return err
		}
		return h(ctx, ev, data)
	})
}

// current is the Event of the call in progress (calls never overlap).
var current Event

// run handles one event for wasmfaas_handle and returns its result code.
func run() int32 {
	if handler == nil {
		setError(KindError, "no handler registered: call wasmfaas.Handle from an init function")
		return 1
	}
	// One Event for every call: it is only valid during its call, and
	// allocating it escaped to the heap on every call. Its attribute map is
	// kept, emptied, so a handler that reads attributes does not rebuild it.
	attrs := current.attrs
	clear(attrs)
	current = Event{attrs: attrs}
	err := handler(&Context{}, &current)
	if err == nil {
		return 0
	}
	setError(errorParts(err))
	return 1
}

// setError reports the call's failure. Its status is ignored: a bad kind
// still fails the call, with kind "error" (abi/README.md §4, error_set).
func setError(kind, msg string) {
	errorSet(sptr(kind), slen(kind), sptr(msg), slen(msg))
}
