package router

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/wasmfaas/wasmfaas/host"
	"github.com/wasmfaas/wasmfaas/internal/layout"
	"github.com/wasmfaas/wasmfaas/internal/tracing"
	"github.com/wasmfaas/wasmfaas/store"
)

// Delivery defaults for the zero Config.
const (
	// DefaultAckWait is how long the server waits for an ack before it
	// redelivers: what a host that dies holds comes back to the others
	// this long after. Calls and their settling may take longer: an
	// in-progress ack every third of it keeps the message.
	DefaultAckWait = 5 * time.Second
	// DefaultPublishTimeout bounds the wait for one PubAck; the message
	// stays in progress meanwhile.
	DefaultPublishTimeout = 10 * time.Second
	// DefaultMaxHops is how many functions an event may pass through.
	DefaultMaxHops = 16
	// DefaultConcurrency is how many calls one trigger runs at once per
	// host process.
	DefaultConcurrency = 16
	// DefaultRecentWindow is Config.RecentWindow's default: well over the
	// embedded server's 100 ms between persisted acks.
	DefaultRecentWindow = 5 * time.Second

	// HeaderTrigger names the trigger on dead letters and restricts a
	// replayed event to the one trigger it is replayed for.
	HeaderTrigger = "Wasmfaas-Trigger"
	// HeaderReason is the dead-letter reason header.
	HeaderReason = "Wasmfaas-Reason"

	// EmittedSubject is the token after the prefix that emitted events are
	// published under: <prefix>.emitted.<function>.
	EmittedSubject = "emitted"
)

// Log attribute keys.
const (
	logKeyTrigger = "trigger"
	logKeyEvent   = "event_id"
	logKeyAttempt = "attempt"
	logKeyError   = "error"
)

// Invoker runs a function on an event and settles everything the call
// caused: it records the call and, when the call is ok, stores the events
// the function emitted. The call path (internal/functions) is one; the
// router defines the interface because the router consumes it.
//
// Invoke returns an error when the function cannot be called at all (it
// does not exist, its module is missing) or when what an ok call emitted
// could not be stored: the router then NAKs the message with the trigger's
// backoff, as for a failed call, because a deploy may be in progress or
// NATS may be back soon; it is dead-lettered (reason "unavailable") only
// after the last attempt. Every call that ran and was settled, whatever
// its outcome, is reported in the ExecutionInfo with a nil error. trigger is the name of
// the trigger delivering ev: the ids of the events the call emits derive
// from it (host.WithEmitScope), so two triggers calling the same function
// on the same event emit distinct ids and a retry re-emits the same ones.
// attempt is the delivery attempt, 1 for the first, and belongs in the
// ExecutionInfo.
type Invoker interface {
	Invoke(ctx context.Context, function, trigger string, ev cloudevents.Event, attempt int) (host.ExecutionInfo, error)
}

type callEndedKey struct{}

// CallEnded tells the router that ctx's call has ended and only its
// recording remains (the call log write, the emitted events' publish): the
// router starts its next call then, while this event waits for its record
// and its ack with the others settling (Config.Settling). An Invoker calls
// it once the guest has returned; calling it again, or on a context the
// router did not make, does nothing.
func CallEnded(ctx context.Context) {
	if f, ok := ctx.Value(callEndedKey{}).(func()); ok {
		f()
	}
}

// Config configures a Router; the zero value of each field is its default.
// The streams must exist (internal/layout creates them); the router only
// creates its triggers' consumers.
type Config struct {
	// Prefix is the events stream's subject prefix ("<Prefix>.>").
	Prefix string
	// EventsStream is the events stream's name.
	EventsStream string
	// PropsStream and PropsSubject are the store's property-changed stream
	// and subject prefix, consumed as a second source of events.
	PropsStream  string
	PropsSubject string
	// CallsStream and CallsSubject are the call log's stream and subject
	// prefix, whose entries are execution events (store.ExecutionType):
	// the third source, consumed by the triggers whose filters select
	// that type.
	CallsStream  string
	CallsSubject string
	// DeadLetterStream captures "deadletter.>".
	DeadLetterStream string
	// SchedulesStream holds the cron triggers' schedules under
	// SchedulesSubject and the scheduled events the server fires under
	// FiredSubject, the fourth source.
	SchedulesStream  string
	SchedulesSubject string
	FiredSubject     string
	// AckWait is each trigger consumer's ack wait.
	AckWait time.Duration
	// MaxHops bounds chains: an event that passed through more functions
	// is dead-lettered with reason "loop".
	MaxHops int
	// Concurrency is how many calls one trigger runs at once in this
	// process, per source stream; the router pulls only into free slots,
	// so a message never waits in a buffer while its ack wait runs out.
	Concurrency int
	// Settling is how many more events per trigger and source may wait
	// for their call to be recorded and acked once the call itself has
	// ended (CallEnded); 8 x Concurrency if zero. Recording is a round
	// trip to the server; letting the next calls run meanwhile keeps the
	// function busy without more instances.
	Settling int
	// PublishTimeout bounds the wait for one PubAck
	// (DefaultPublishTimeout if zero).
	PublishTimeout time.Duration
	// RecentWindow is how much of the end of the call log Start reads to
	// recognise events handled before a crash (see recent.go);
	// DefaultRecentWindow if zero, none if negative.
	RecentWindow time.Duration
}

func (c Config) withDefaults() (Config, error) {
	set := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	set(&c.Prefix, layout.EventsPrefix)
	set(&c.EventsStream, layout.EventsStream)
	set(&c.PropsStream, layout.PropsStream)
	set(&c.PropsSubject, layout.PropsSubject)
	set(&c.CallsStream, layout.CallsStream)
	set(&c.CallsSubject, layout.CallsSubject)
	set(&c.DeadLetterStream, layout.DeadLetterStream)
	set(&c.SchedulesStream, layout.SchedulesStream)
	set(&c.SchedulesSubject, layout.SchedulesSubject)
	set(&c.FiredSubject, layout.FiredSubject)
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxHops == 0 {
		c.MaxHops = DefaultMaxHops
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Settling == 0 {
		c.Settling = 8 * c.Concurrency
	}
	if c.PublishTimeout == 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.RecentWindow == 0 {
		c.RecentWindow = DefaultRecentWindow
	}
	switch {
	case c.AckWait < 100*time.Millisecond:
		return c, fmt.Errorf("router config: ack wait %s: want at least 100ms", c.AckWait)
	case c.MaxHops < 0:
		return c, fmt.Errorf("router config: max hops %d: want a positive number", c.MaxHops)
	case c.Concurrency < 0:
		return c, fmt.Errorf("router config: concurrency %d: want a positive number", c.Concurrency)
	case c.Settling < 0:
		return c, fmt.Errorf("router config: settling %d: want a positive number", c.Settling)
	case strings.ContainsAny(c.Prefix, "*> \t\r\n") || c.Prefix == layout.DeadLetterPrefix:
		return c, fmt.Errorf("router config: prefix %q is not a subject prefix of its own", c.Prefix)
	}
	return c, nil
}

// source is one stream the triggers consume.
type source struct {
	stream  string
	subject string // filter subject
	// typ, if set, is the one event type on the stream; a trigger consumes
	// the stream only if its filters can match that type (select it, if
	// selected is set too).
	typ      string
	selected bool
	// optional sources may be missing (no call log): a trigger then goes
	// without them rather than failing.
	optional bool
}

// consumedBy reports whether t's consumer reads src.
func (src source) consumedBy(t Trigger) bool {
	switch {
	case src.typ == "":
		return true
	case src.selected:
		return selectsType(t.Filters, src.typ)
	default:
		return onType(t.Filters, src.typ) != triNo
	}
}

// Router delivers events from the events stream, the property-changed
// stream and the call log (execution events) to the functions of every
// matching trigger: one durable consumer per trigger and source, shared by
// every host process, so each trigger has its own retries and a failing
// function never blocks or re-runs another.
//
// A trigger consumes the property-changed stream only if its filters can
// match that type, and the call log only if they select the execution type
// (name it, so a catch-all trigger is not also run on every call's
// execution event), from the calls made after the trigger was created.
//
// Lock order: Router.mu only; workers and handlers never take it.
type Router struct {
	cfg Config
	js  jetstream.JetStream
	inv Invoker
	log *slog.Logger

	mu       sync.Mutex
	started  bool
	stopped  bool
	triggers map[string]Trigger
	// triggersSet: SetTriggers has been called at least once.
	triggersSet bool
	workers     map[string]*worker // by trigger name
	// hard is cancelled when Stop gives up waiting: calls in flight are
	// aborted and their messages left for redelivery.
	hard       context.Context
	hardCancel context.CancelFunc
	// recent is set once by Start, before any worker reads it.
	recent *recentCalls
	// emitter re-publishes what calls handled before a restart emitted.
	emitter *Emitter
}

// New returns a Router on js that calls inv. It does no I/O: Start does.
func New(cfg Config, js jetstream.JetStream, inv Invoker, logger *slog.Logger) (*Router, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if js == nil || inv == nil {
		return nil, errors.New("router: nil JetStream or Invoker")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	hard, cancel := context.WithCancel(context.Background())
	return &Router{
		cfg: cfg, js: js, inv: inv, log: logger.With("component", "router"),
		triggers: map[string]Trigger{}, workers: map[string]*worker{},
		hard: hard, hardCancel: cancel, emitter: NewEmitter(js, cfg.Prefix, cfg.PublishTimeout),
	}, nil
}

func (r *Router) sources() []source {
	return []source{
		{stream: r.cfg.EventsStream, subject: r.cfg.Prefix + ".>"},
		{stream: r.cfg.PropsStream, subject: r.cfg.PropsSubject + ".>", typ: store.PropertyChangedType},
		{stream: r.cfg.CallsStream, subject: r.cfg.CallsSubject + ".>", typ: store.ExecutionType, selected: true, optional: true},
		{stream: r.cfg.SchedulesStream, subject: r.cfg.FiredSubject + ".fn.>", optional: true},
	}
}

// sourcesOf returns the sources t consumes: a cron trigger only its own
// ticks, on the schedules stream; any other trigger every source.
func (r *Router) sourcesOf(t Trigger) []source {
	if t.Schedule == "" {
		return r.sources()
	}
	return []source{{stream: r.cfg.SchedulesStream, subject: r.firedCronSubject(t.Name)}}
}

// Start checks that the streams exist and starts a consumer for every
// trigger set so far.
func (r *Router) Start(ctx context.Context) error {
	for _, name := range []string{r.cfg.EventsStream, r.cfg.PropsStream, r.cfg.DeadLetterStream} {
		if _, err := r.js.Stream(ctx, name); err != nil {
			return fmt.Errorf("router: open stream %s: %w", name, err)
		}
	}
	recent, err := r.loadRecent(ctx)
	if err != nil {
		// Without it a crash costs duplicates, as without the scan.
		r.log.Warn("read the end of the call log", logKeyError, err)
	} else if recent != nil && len(recent.seq) > 0 {
		r.log.Info("calls handled just before the last stop", "calls", len(recent.seq))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return errors.New("router: start after stop")
	}
	if r.started {
		return errors.New("router: started twice")
	}
	r.recent = recent
	r.started = true
	if !r.triggersSet {
		// The triggers are not loaded yet; the first SetTriggers syncs the
		// schedules (doing it now would remove every stored one).
		return r.reconcileLocked(ctx)
	}
	return errors.Join(r.syncCron(ctx, r.triggers), r.reconcileLocked(ctx))
}

// SetTriggers replaces the set of triggers: consumers of new triggers are
// created and started, changed ones updated and restarted, and those of
// removed triggers stopped and deleted. Before Start it only records them.
func (r *Router) SetTriggers(ctx context.Context, triggers []Trigger) error {
	next := make(map[string]Trigger, len(triggers))
	for _, t := range triggers {
		if err := t.Normalize(); err != nil {
			return fmt.Errorf("trigger %q: %w", t.Name, err)
		}
		if t.Name == "" {
			return fmt.Errorf("%w: a trigger needs a name", ErrInvalidTrigger)
		}
		if _, dup := next[t.Name]; dup {
			return fmt.Errorf("%w: trigger %q given twice", ErrInvalidTrigger, t.Name)
		}
		next[t.Name] = t
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return errors.New("router: set triggers after stop")
	}
	var removed []string
	for name := range r.triggers {
		if _, ok := next[name]; !ok {
			removed = append(removed, name)
		}
	}
	r.triggers, r.triggersSet = next, true
	if !r.started {
		return nil
	}
	errs := []error{r.syncCron(ctx, next)}
	for _, name := range removed {
		if w := r.workers[name]; w != nil {
			w.stop()
			w.wait(ctx)
			delete(r.workers, name)
		}
		for _, src := range r.sources() {
			err := r.js.DeleteConsumer(ctx, src.stream, DurableName(name))
			if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
				errs = append(errs, fmt.Errorf("delete consumer of trigger %q on %s: %w", name, src.stream, err))
			}
		}
	}
	return errors.Join(append(errs, r.reconcileLocked(ctx))...)
}

// Triggers returns the current triggers.
func (r *Router) Triggers() []Trigger {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Trigger, 0, len(r.triggers))
	for _, t := range r.triggers {
		out = append(out, t)
	}
	return out
}

// reconcileLocked starts a worker for every trigger without one or whose
// definition changed.
func (r *Router) reconcileLocked(ctx context.Context) error {
	var errs []error
	for name, t := range r.triggers {
		if w := r.workers[name]; w != nil {
			if triggerEqual(w.t, t) {
				continue
			}
			w.stop()
			w.wait(ctx)
			delete(r.workers, name)
		}
		w, err := r.startWorker(ctx, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.workers[name] = w
	}
	return errors.Join(errs...)
}

func triggerEqual(a, b Trigger) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// Stop stops fetching, waits for the calls in flight to finish and their
// messages to be acked or NAKed, and returns. Messages fetched but not
// started are left unacked, for redelivery to this or another host. If ctx
// ends first, the calls still running are cancelled and their messages
// left unacked too.
func (r *Router) Stop(ctx context.Context) error {
	r.mu.Lock()
	r.stopped = true
	ws := make([]*worker, 0, len(r.workers))
	for _, w := range r.workers {
		w.stop()
		ws = append(ws, w)
	}
	r.workers = map[string]*worker{}
	r.mu.Unlock()
	var err error
	for _, w := range ws {
		if !w.wait(ctx) {
			err = fmt.Errorf("router: stop: calls still running: %w", ctx.Err())
		}
	}
	r.hardCancel()
	if err != nil {
		for _, w := range ws {
			w.wait(context.Background())
		}
	}
	r.log.Info("router stopped")
	return err
}

// DurableName is the durable consumer name of a trigger (the same on every
// source stream): the trigger name when it is a valid consumer name,
// otherwise a sanitised form with a hash of the name, so two names never
// share a consumer.
func DurableName(trigger string) string {
	var b strings.Builder
	clean := len(trigger) <= 64
	for _, c := range trigger {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
			clean = false
		}
	}
	name := b.String()
	if clean {
		return durablePrefix + name
	}
	if len(name) > 64 {
		name = name[:64]
	}
	h := sha256.Sum256([]byte(trigger))
	return durablePrefix + name + "_" + hex.EncodeToString(h[:4])
}

// durablePrefix starts the name of every trigger's durable consumer.
const durablePrefix = "trigger_"

// worker consumes one trigger's consumers, one loop per source, each with
// its own Concurrency slots (the property-changed source is quiet; sharing
// slots would let an idle fetch hold them).
type worker struct {
	r       *Router
	t       Trigger
	cons    []jetstream.Consumer
	done    chan struct{} // closed when every loop and call has ended
	once    sync.Once
	quit    chan struct{}
	fetchCx context.Context
	cancel  context.CancelFunc
}

// fetchWait bounds one pull request; an idle trigger re-pulls this often.
const fetchWait = 5 * time.Second

func (r *Router) startWorker(ctx context.Context, t Trigger) (*worker, error) {
	fctx, cancel := context.WithCancel(context.Background())
	w := &worker{r: r, t: t, done: make(chan struct{}), quit: make(chan struct{}), fetchCx: fctx, cancel: cancel}
	for _, src := range r.sources() {
		if t.Route != "" || (t.Schedule != "" && src.stream != r.cfg.SchedulesStream) {
			// An HTTP trigger consumes nothing; a cron trigger only its
			// ticks (see sourcesOf).
			err := r.js.DeleteConsumer(ctx, src.stream, DurableName(t.Name))
			if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
				cancel()
				return nil, fmt.Errorf("delete consumer of trigger %q on %s: %w", t.Name, src.stream, err)
			}
			continue
		}
		if t.Schedule != "" {
			src = r.sourcesOf(t)[0]
		}
		if !src.consumedBy(t) {
			// The trigger may have read this stream before its filters
			// changed; its consumer would hold messages for nobody.
			err := r.js.DeleteConsumer(ctx, src.stream, DurableName(t.Name))
			if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) {
				cancel()
				return nil, fmt.Errorf("delete consumer of trigger %q on %s: %w", t.Name, src.stream, err)
			}
			continue
		}
		start, err := r.startOf(ctx, src, t)
		if err != nil {
			cancel()
			return nil, err
		}
		cons, err := r.js.CreateOrUpdateConsumer(ctx, src.stream, jetstream.ConsumerConfig{
			Durable:       DurableName(t.Name),
			Description:   "wasmfaas trigger " + t.Name + " -> " + t.Function,
			FilterSubject: src.subject,
			DeliverPolicy: start.DeliverPolicy,
			OptStartTime:  start.OptStartTime,
			OptStartSeq:   start.OptStartSeq,
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       r.cfg.AckWait,
			MaxDeliver:    maxDeliver(t),
			MaxAckPending: 64 * r.cfg.Concurrency,
		})
		if src.optional && errors.Is(err, jetstream.ErrStreamNotFound) {
			r.log.Warn("trigger selects events of a stream that does not exist; it gets none", logKeyTrigger, t.Name, "stream", src.stream, "type", src.typ)
			continue
		}
		if err != nil {
			cancel()
			return nil, fmt.Errorf("create consumer of trigger %q on %s: %w", t.Name, src.stream, err)
		}
		w.cons = append(w.cons, cons)
	}
	var wg sync.WaitGroup
	for _, c := range w.cons {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(c, &wg)
		}()
	}
	go func() {
		wg.Wait()
		close(w.done)
	}()
	r.log.Debug("trigger started", logKeyTrigger, t.Name, "function", t.Function, "durable", DurableName(t.Name))
	return w, nil
}

// startOf is where t's consumer on src starts. A consumer that exists
// keeps its start (JetStream refuses to change it, and its position is
// what matters by then). A new one starts at the trigger's creation, so a
// trigger sees the events stored after it was made, not the whole
// retained history (Knative's behaviour), unless the trigger asks to
// replay from a time or from the first event (Trigger.ReplayFrom).
func (r *Router) startOf(ctx context.Context, src source, t Trigger) (jetstream.ConsumerConfig, error) {
	cons, err := r.js.Consumer(ctx, src.stream, DurableName(t.Name))
	switch {
	case err == nil:
		c := cons.CachedInfo().Config
		return jetstream.ConsumerConfig{DeliverPolicy: c.DeliverPolicy, OptStartTime: c.OptStartTime, OptStartSeq: c.OptStartSeq}, nil
	case !errors.Is(err, jetstream.ErrConsumerNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound):
		return jetstream.ConsumerConfig{}, fmt.Errorf("look up consumer of trigger %q on %s: %w", t.Name, src.stream, err)
	}
	all, from := t.startAt()
	switch {
	case all:
		return jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}, nil
	case !from.IsZero():
		return jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &from}, nil
	}
	return jetstream.ConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}, nil
}

// maxDeliver is the consumer's MaxDeliver: unlimited. The router itself
// ends an event's attempts (dead-lettering it after the last failed one);
// a server-side limit would count deliveries that never reached a call,
// those held by a host that died, those fetched by a host that stopped
// before starting them, those lost with a NATS node, and drop an event
// silently, with no call and no dead letter, once they add up. A delivery
// past the trigger's attempts runs the call once more, as the last
// attempt: an event whose earlier deliveries were lost still gets a call.
func maxDeliver(Trigger) int { return -1 }

func (w *worker) stop() {
	w.once.Do(func() {
		close(w.quit)
		w.cancel()
	})
}

// wait waits until every loop and call has ended or ctx is done.
func (w *worker) wait(ctx context.Context) bool {
	select {
	case <-w.done:
		return true
	case <-ctx.Done():
		return false
	}
}

// loop pulls only as many messages as it has free slots, so no message
// waits in a client buffer while its ack wait runs out (which would run it
// twice): every message fetched is handled at once. A message takes a call
// slot until its call ends (CallEnded) and a slot in flight until it is
// settled, so the next calls run while earlier ones are recorded and
// acked. (A standing Consume with a callback that waits for slots stalled
// for a pull expiry at a time: the blocked callback holds up the
// heartbeats.)
func (w *worker) loop(c jetstream.Consumer, wg *sync.WaitGroup) {
	sem := make(chan struct{}, w.r.cfg.Concurrency)
	flight := make(chan struct{}, w.r.cfg.Concurrency+w.r.cfg.Settling)
	for {
		select {
		case sem <- struct{}{}:
		case <-w.quit:
			return
		}
		select {
		case flight <- struct{}{}:
		case <-w.quit:
			<-sem
			return
		}
		k := 1
	more:
		for k < cap(sem) {
			select {
			case sem <- struct{}{}:
			default:
				break more
			}
			select {
			case flight <- struct{}{}:
				k++
			default:
				<-sem
				break more
			}
		}
		fctx, cancel := context.WithTimeout(w.fetchCx, fetchWait)
		batch, err := c.Fetch(k, jetstream.FetchHeartbeat(time.Second), jetstream.FetchContext(fctx))
		got := 0
		if err == nil {
			for m := range batch.Messages() {
				got++
				wg.Add(1)
				go func() {
					var once sync.Once
					ended := func() { once.Do(func() { <-sem }) }
					defer func() { ended(); <-flight; wg.Done() }()
					w.r.handle(context.WithValue(w.r.hard, callEndedKey{}, ended), w.t, m)
				}()
			}
			err = batch.Error()
		}
		cancel()
		for range k - got {
			<-sem
			<-flight
		}
		select {
		case <-w.quit:
			return
		default:
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			// Missed heartbeats, a reconnect, the server restarting:
			// pause so a persistent error does not spin, then pull again.
			w.r.log.Warn("trigger consumer", logKeyTrigger, w.t.Name, logKeyError, err)
			select {
			case <-w.quit:
				return
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
}

// handle delivers one message to one trigger and settles it.
func (r *Router) handle(ctx context.Context, t Trigger, m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		r.log.Error("message without metadata", logKeyTrigger, t.Name, logKeyError, err)
		_ = m.Term()
		return
	}
	attempt := int(meta.NumDelivered)
	if only := m.Headers().Get(HeaderTrigger); only != "" && only != t.Name {
		// A replay for another trigger.
		r.ack(ctx, t, m)
		return
	}
	ev, err := DecodeMsg(&nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
	if err != nil {
		// Ingress moves invalid messages to the rejected-events stream;
		// no trigger can run on them.
		r.log.Debug("not a CloudEvent", logKeyTrigger, t.Name, "seq", meta.Sequence.Stream, logKeyError, err)
		_ = m.TermWithReason("not a CloudEvent")
		return
	}
	fired(&ev, m.Headers(), meta)
	if !MatchAll(t.Filters, &ev) || ownExecution(t, &ev) {
		// A lost ack only redelivers a message that is filtered out
		// again, so this one does not wait for the server.
		_ = m.Ack()
		return
	}
	d := delivered{t: t, m: m, meta: meta, ev: ev, attempt: attempt}
	if hops := Hops(ev); hops > r.cfg.MaxHops {
		d.reason, d.code = ReasonLoop, 508
		d.errMsg = fmt.Sprintf("event passed through %d functions, more than the maximum of %d", hops, r.cfg.MaxHops)
		r.deadLetter(ctx, &d)
		return
	}
	if seq, ok := r.recent.lookup(t, &ev); ok && r.handledBefore(ctx, t, m, ev, seq) {
		return
	}
	stopProgress := r.keepInProgress(m)
	defer stopProgress()
	if tracing.On() {
		var span trace.Span
		ctx, span = tracing.Tracer().Start(tracing.FromEvent(ctx, &ev), "deliver "+t.Name, trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(attribute.String("wasmfaas.trigger", t.Name), attribute.String("wasmfaas.function", t.Function),
				attribute.String("cloudevents.event_id", ev.ID()), attribute.String("cloudevents.event_type", ev.Type()), attribute.Int("wasmfaas.attempt", attempt)))
		defer span.End()
	}
	info, err := r.inv.Invoke(ctx, t.Function, t.Name, ev, attempt)
	if ctx.Err() != nil {
		// Stop gave up waiting: leave the message for redelivery.
		return
	}
	// Built only when something is logged: With copies the handler.
	log := func() *slog.Logger {
		return r.log.With(logKeyTrigger, t.Name, logKeyEvent, ev.ID(), logKeyAttempt, attempt)
	}
	last := attempt >= t.Delivery.Retries+1
	if err != nil {
		// Not callable, or an ok call whose emitted events are not stored:
		// retried, since a deploy or NATS may be back soon; the re-emitted
		// events carry the same ids and the duplicate window drops those
		// stored before.
		d.reason, d.code, d.errMsg = ReasonUnavailable, 503, err.Error()
		if info.CallID != "" {
			d.info = &info
		}
		if !last {
			log().Warn("call not settled; retrying", logKeyError, err)
			r.nak(t, m, attempt)
			return
		}
		r.deadLetter(ctx, &d)
		return
	}
	d.info = &info
	switch info.Status {
	case host.StatusOK:
		if r.log.Enabled(ctx, slog.LevelDebug) {
			log().Debug("delivered")
		}
		r.ack(ctx, t, m)
	case host.StatusRejected:
		d.reason, d.code = ReasonRejected, 400
		d.errMsg = errorMessage(info)
		r.deadLetter(ctx, &d)
	default:
		d.reason, d.code = ReasonFailed, statusCode(info.Status)
		d.errMsg = errorMessage(info)
		if !last {
			if r.log.Enabled(ctx, slog.LevelDebug) {
				log().Debug("call failed; retrying", "status", info.Status)
			}
			r.nak(t, m, attempt)
			return
		}
		r.deadLetter(ctx, &d)
	}
}

// ownExecution reports whether ev is the execution event of a call of t's
// own function. A function never runs on its own executions: each run
// would make another, a loop by construction (MaxHops would stop it, after
// MaxHops useless calls and a dead letter).
func ownExecution(t Trigger, ev *cloudevents.Event) bool {
	if ev.Type() != store.ExecutionType {
		return false
	}
	fn, ok := Attr(ev, store.ExtFunction)
	return ok && fn == t.Function
}

// delivered is one message being handled for one trigger.
type delivered struct {
	t       Trigger
	m       jetstream.Msg
	meta    *jetstream.MsgMetadata
	ev      cloudevents.Event
	attempt int
	info    *host.ExecutionInfo
	reason  string
	code    int
	errMsg  string
}

func errorMessage(info host.ExecutionInfo) string {
	if info.Error == nil {
		return string(info.Status)
	}
	return info.Error.Kind + ": " + info.Error.Message
}

// statusCode maps a call status to the HTTP-style code Knative puts in
// knativeerrorcode.
func statusCode(s host.Status) int {
	switch s {
	case host.StatusTimeout:
		return 504
	case host.StatusRejected:
		return 400
	default:
		return 500
	}
}

// nak asks for redelivery after the trigger's backoff for this attempt.
func (r *Router) nak(t Trigger, m jetstream.Msg, attempt int) {
	if err := m.NakWithDelay(t.Delivery.BackoffFor(attempt)); err != nil {
		// The server redelivers after the ack wait anyway.
		r.log.Warn("nak", logKeyTrigger, t.Name, logKeyError, err)
	}
}

// ack acks m. It does not wait for the server's confirmation (a second
// round trip per event): the call is in the call log before its event is
// acked, so an ack lost on the way (a connection drop, a crash) brings the
// event back to a router whose restart scan recognises it, or at worst
// runs it again, at least once as documented.
func (r *Router) ack(_ context.Context, t Trigger, m jetstream.Msg) {
	if err := m.Ack(); err != nil {
		// The message will be redelivered and handled again: at least once.
		r.log.Warn("ack", logKeyTrigger, t.Name, logKeyError, err)
	}
}

// keepInProgress sends in-progress acks while a call runs, every third of
// the ack wait, so a call longer than the ack wait keeps its message and
// is not run twice. The returned func stops it. A timer, not a goroutine:
// most calls end long before it first fires.
func (r *Router) keepInProgress(m jetstream.Msg) func() {
	every := r.cfg.AckWait / 3
	var (
		mu      sync.Mutex
		stopped bool
		tm      *time.Timer
	)
	mu.Lock() // tm is set before the first firing reads it
	tm = time.AfterFunc(every, func() {
		_ = m.InProgress()
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			tm.Reset(every)
		}
	})
	mu.Unlock()
	return func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		tm.Stop()
	}
}
