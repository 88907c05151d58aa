package layout

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wasmfaas/wasmfaas/abi"
)

// Names and subjects of the default layout. Packages use them as the
// defaults of their own Config, so that a zero Config reads and writes the
// resources Ensure creates.
const (
	// EventsStream captures every event under EventsPrefix: from HTTP
	// ingress (<prefix>.http), from NATS publishers and from functions
	// (<prefix>.emitted.<function>).
	EventsStream = "WASMFAAS_EVENTS"
	EventsPrefix = "events"
	// RejectedStream keeps the messages of EventsStream that are not
	// CloudEvents, under RejectedPrefix.<events prefix>.
	RejectedStream = "WASMFAAS_REJECTED"
	RejectedPrefix = "rejected"
	// DeadLetterStream keeps the events triggers gave up on.
	DeadLetterStream = "WASMFAAS_DEADLETTER"
	DeadLetterPrefix = "deadletter"
	// PropsStream holds the property-changed events the store publishes on
	// PropsSubject.<encoded subject>.<encoded property>.
	PropsStream  = "WASMFAAS_PROPS"
	PropsSubject = "wasmfaas.props.changed"
	// CallsStream is the call log: one execution event per call on
	// CallsSubject.<function>.<status>.<id> (tokens base64url-encoded;
	// earlier versions wrote CallsSubject.<function>.<status>).
	CallsStream  = "WASMFAAS_CALLS"
	CallsSubject = "wasmfaas.calls"
	// CallIDStream is the call log's index of earlier versions: one
	// message per call id on CallIDSubject.<id>, holding the call's
	// sequence in CallsStream. Calls are found by their subject now; it is
	// kept, no longer written, until retention empties it.
	CallIDStream  = "WASMFAAS_CALL_IDS"
	CallIDSubject = "$WASMFAAS.CALLS.ID"
	// SchedulesStream holds scheduled events as JetStream message
	// schedules: the schedule of a cron trigger on
	// SchedulesSubject.cron.<trigger>, the events functions scheduled on
	// SchedulesSubject.fn.<function>.<key> (key base64url-encoded). The
	// server itself fires each one onto FiredSubject.cron.<trigger> or
	// FiredSubject.fn.<function>.<key>, where triggers consume them.
	SchedulesStream  = "WASMFAAS_SCHEDULES"
	SchedulesSubject = "wasmfaas.schedules"
	FiredSubject     = "wasmfaas.schedules.fired"
	// FiredTTL is how long a fired event is kept (Nats-Schedule-TTL):
	// long past its delivery, bounded so that fires no trigger reads do
	// not pile up.
	FiredTTL = 7 * 24 * time.Hour

	// KVBucket, PropsBucket and ExtBucket hold function KV namespaces,
	// subject properties and extended properties.
	KVBucket    = "wasmfaas_kv"
	PropsBucket = "wasmfaas_props"
	// PropsRelay is the durable consumer on PropsBucket's stream from
	// which the store publishes one property-changed event per committed
	// write; every host pulls from it and one at a time is pinned.
	PropsRelay = "wasmfaas_props_relay"
	// KeepAllPerKey is the per-key message limit of PropsBucket's stream:
	// in effect none (JetStream KV needs a positive one), so no write is
	// dropped before PropsRelay has published its event; the relay purges
	// behind itself.
	KeepAllPerKey = 1 << 20
	// PropsRelayGroup is PropsRelay's priority group.
	PropsRelayGroup = "relay"
	// PropsRelayPinnedTTL is how long PropsRelay stays pinned to a host
	// that stopped pulling before another host takes over.
	PropsRelayPinnedTTL = 10 * time.Second
	ExtBucket           = "wasmfaas_ext"
	// DefsBucket holds function and trigger definitions with history.
	DefsBucket = "WASMFAAS_DEFS"
	// ModulesBucket is the object store of module blobs by sha256 digest.
	ModulesBucket = "WASMFAAS_MODULES"

	// DefaultDuplicateWindow is how long a stream remembers a Nats-Msg-Id.
	DefaultDuplicateWindow = 2 * time.Minute
	// Retention defaults of the events, rejected and dead-letter streams:
	// a week of events (within 4 GiB, the oldest dropped first), a week of
	// rejected messages, a month of dead letters to look at and replay.
	DefaultEventsMaxAge     = 7 * 24 * time.Hour
	DefaultEventsMaxBytes   = 4 << 30
	DefaultRejectedMaxAge   = 7 * 24 * time.Hour
	DefaultDeadLetterMaxAge = 30 * 24 * time.Hour
	// DefaultPropsMaxAge is how long property-changed events are kept; the
	// triggers' durable consumers read them long before.
	DefaultPropsMaxAge = 7 * 24 * time.Hour
	// DefsHistory is how many revisions of a definition the bucket keeps:
	// the most JetStream KV allows, so rollback reaches far back.
	DefsHistory = 64
	// WriteMarkerTTL is how long a guest bucket keeps the marker of an
	// applied write id (Nats-TTL on the marker message): as long as
	// store.WriteIDRetention, far longer than any redelivery of the
	// event that caused the write (docs/RATIONALE.md, "Why atomic batches
	// for idempotent writes?").
	WriteMarkerTTL = 24 * time.Hour
	// ValueSlack is what a bucket's max value size allows beyond the abi
	// limit, which the store enforces exactly before writing: JetStream
	// counts the message's headers against it too.
	ValueSlack = 64 << 10
)

// Config is what an operator chooses about the layout. The zero value is
// the single-host default.
type Config struct {
	// Replicas of every stream, bucket and object store (1 if zero; 3 on a
	// cluster).
	Replicas int
	// EventsPrefix is the events stream's subject prefix; EventsPrefix if
	// empty.
	EventsPrefix string
	// EventsMaxAge and EventsMaxBytes bound the events stream (the oldest
	// dropped first), RejectedMaxAge the rejected stream, DeadLetterMaxAge
	// the dead letters. Zero means the default; a negative value no bound.
	EventsMaxAge     time.Duration
	EventsMaxBytes   int64
	RejectedMaxAge   time.Duration
	DeadLetterMaxAge time.Duration
	// PropsMaxAge bounds how long property-changed events are kept;
	// DefaultPropsMaxAge if zero.
	PropsMaxAge time.Duration
	// CallsMaxAge and CallsMaxCount bound the call log (and its index); 0
	// means no bound.
	CallsMaxAge   time.Duration
	CallsMaxCount int64
	// DuplicateWindow of every stream that deduplicates;
	// DefaultDuplicateWindow if zero, cut to a stream's max age if longer.
	DuplicateWindow time.Duration
	// Memory puts every resource in memory instead of on disk (tests).
	Memory bool
}

// Layout is the resolved layout: the names every package is configured
// with and the configurations Ensure applies.
type Layout struct {
	cfg Config
}

// New validates cfg and returns the layout.
func New(cfg Config) (Layout, error) {
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	if cfg.EventsPrefix == "" {
		cfg.EventsPrefix = EventsPrefix
	}
	def := func(v *time.Duration, d time.Duration) {
		switch {
		case *v == 0:
			*v = d
		case *v < 0:
			*v = 0 // no bound
		}
	}
	def(&cfg.EventsMaxAge, DefaultEventsMaxAge)
	def(&cfg.RejectedMaxAge, DefaultRejectedMaxAge)
	def(&cfg.DeadLetterMaxAge, DefaultDeadLetterMaxAge)
	switch {
	case cfg.EventsMaxBytes == 0:
		cfg.EventsMaxBytes = DefaultEventsMaxBytes
	case cfg.EventsMaxBytes < 0:
		cfg.EventsMaxBytes = 0
	}
	if cfg.PropsMaxAge == 0 {
		cfg.PropsMaxAge = DefaultPropsMaxAge
	}
	if cfg.DuplicateWindow == 0 {
		cfg.DuplicateWindow = DefaultDuplicateWindow
	}
	switch {
	case cfg.Replicas < 1 || cfg.Replicas > 5:
		return Layout{}, fmt.Errorf("layout: replicas %d: want 1 to 5", cfg.Replicas)
	case cfg.EventsMaxAge < 0 || cfg.PropsMaxAge < 0 || cfg.CallsMaxAge < 0 || cfg.DuplicateWindow < 0:
		return Layout{}, errors.New("layout: a max age or duplicate window is negative")
	case cfg.CallsMaxCount < 0:
		return Layout{}, fmt.Errorf("layout: calls max count %d is negative", cfg.CallsMaxCount)
	}
	if err := checkPrefix(cfg.EventsPrefix); err != nil {
		return Layout{}, err
	}
	return Layout{cfg: cfg}, nil
}

// Default is the single-host layout.
func Default() Layout {
	l, err := New(Config{})
	if err != nil {
		panic(err) // the zero Config is valid by construction
	}
	return l
}

func checkPrefix(p string) error {
	for _, reserved := range []string{RejectedPrefix, DeadLetterPrefix, "wasmfaas", "$WASMFAAS", "$KV", "$O", "$JS"} {
		if p == reserved || strings.HasPrefix(p, reserved+".") {
			return fmt.Errorf("layout: events prefix %q overlaps the reserved subjects %s.>", p, reserved)
		}
	}
	for _, tok := range strings.Split(p, ".") {
		if tok == "" || strings.ContainsAny(tok, "*> \t\r\n") {
			return fmt.Errorf("layout: events prefix %q: want dot-separated subject tokens without wildcards or spaces", p)
		}
	}
	return nil
}

// Config returns the configuration the layout was made from, defaults
// filled in.
func (l Layout) Config() Config { return l.cfg }

// Replicas is the replica count of every resource.
func (l Layout) Replicas() int { return l.cfg.Replicas }

// EventsPrefix is the events stream's subject prefix.
func (l Layout) EventsPrefix() string { return l.cfg.EventsPrefix }

// Retention of the call log, as the stream applies it.
func (l Layout) CallsMaxAge() time.Duration { return l.cfg.CallsMaxAge }

// CallsMaxCount is the call log's message bound (0: none).
func (l Layout) CallsMaxCount() int64 { return l.cfg.CallsMaxCount }

func (l Layout) storage() jetstream.StorageType {
	if l.cfg.Memory {
		return jetstream.MemoryStorage
	}
	return jetstream.FileStorage
}

// window is the duplicate window of a stream whose messages live maxAge.
func (l Layout) window(maxAge time.Duration) time.Duration {
	if maxAge > 0 && l.cfg.DuplicateWindow > maxAge {
		return maxAge // the server refuses a window longer than MaxAge
	}
	return l.cfg.DuplicateWindow
}

// Resource is one row of the layout: a stream, KV bucket or object store,
// who writes it and who reads it.
type Resource struct {
	Kind     string // "stream", "kv" or "object store"
	Name     string
	Subjects []string
	// Retention says what the server keeps, in words.
	Retention string
	Writers   string
	Readers   string

	stream *jetstream.StreamConfig
	kv     *jetstream.KeyValueConfig
	obj    *jetstream.ObjectStoreConfig
	// consumer is a durable consumer on the stream named in on.
	consumer *jetstream.ConsumerConfig
	on       string
	// writeOnce: the bucket's stream takes atomic batches and per-message
	// TTLs, for the markers of idempotent writes (WriteMarkerTTL), which
	// KeyValueConfig cannot ask for.
	writeOnce bool
	// keepAll: the bucket's stream keeps every message of a key (no
	// per-subject limit) until its reader purges behind itself: the
	// properties bucket, whose writes PropsRelay turns into events.
	keepAll bool
}

// WriteOnce reports whether the resource is a KV bucket whose stream
// allows atomic batch publish and per-message TTLs, the two features
// idempotent guest writes need.
func (r Resource) WriteOnce() bool { return r.writeOnce }

// Resource kinds.
const (
	KindStream      = "stream"
	KindKV          = "kv"
	KindObjectStore = "object store"
	KindConsumer    = "consumer"
)

// Resources lists every stream, bucket, object store and consumer, in the
// order Ensure creates them.
func (l Layout) Resources() []Resource {
	st := l.storage()
	r := l.cfg.Replicas
	maxCalls := l.cfg.CallsMaxCount
	if maxCalls == 0 {
		maxCalls = -1
	}
	stream := func(sc jetstream.StreamConfig, retention, writers, readers string) Resource {
		sc.Storage, sc.Replicas = st, r
		if sc.Retention == 0 {
			sc.Retention = jetstream.LimitsPolicy
		}
		return Resource{Kind: KindStream, Name: sc.Name, Subjects: sc.Subjects, Retention: retention, Writers: writers, Readers: readers, stream: &sc}
	}
	bucket := func(name, desc string, maxValue int, history uint8, writers, readers string) Resource {
		writeOnce := history == 1 // the guests' buckets; definitions keep history and no markers
		keepAll := name == PropsBucket
		if keepAll {
			// A property write carries the value it replaced in a header,
			// for its property-changed event.
			maxValue *= 2
		}
		kv := jetstream.KeyValueConfig{Bucket: name, Description: desc, History: history, Storage: st, Replicas: r}
		if maxValue > 0 {
			kv.MaxValueSize = int32(maxValue + ValueSlack)
		}
		ret := "latest value per key"
		if history > 1 {
			ret = fmt.Sprintf("%d revisions per key", history)
		}
		if keepAll {
			ret = "every write until " + PropsRelay + " has published its event, then the latest value per key"
		}
		if writeOnce {
			ret += ", write-id markers for " + duration(WriteMarkerTTL)
		}
		return Resource{Kind: KindKV, Name: name, Subjects: []string{"$KV." + name + ".>"}, Retention: ret, Writers: writers, Readers: readers, kv: &kv, writeOnce: writeOnce, keepAll: keepAll}
	}
	obj := jetstream.ObjectStoreConfig{Bucket: ModulesBucket, Description: "wasmfaas module blobs by sha256 digest", Storage: st, Replicas: r}
	return []Resource{
		stream(jetstream.StreamConfig{
			Name: EventsStream, Description: "wasmfaas events", Subjects: []string{l.cfg.EventsPrefix + ".>"},
			MaxAge: l.cfg.EventsMaxAge, MaxBytes: maxBytes(l.cfg.EventsMaxBytes), Discard: jetstream.DiscardOld,
			Duplicates: l.window(l.cfg.EventsMaxAge),
		}, limitWords(l.cfg.EventsMaxAge, l.cfg.EventsMaxBytes), "HTTP ingress, NATS publishers, functions' emitted events", "triggers' durable consumers, the rejecter"),
		stream(jetstream.StreamConfig{
			Name: RejectedStream, Description: "wasmfaas messages that are not CloudEvents", Subjects: []string{RejectedPrefix + ".>"},
			MaxAge: l.cfg.RejectedMaxAge, Duplicates: l.window(l.cfg.RejectedMaxAge),
		}, ageWords(l.cfg.RejectedMaxAge, "until deleted"), "the rejecter", "operators"),
		stream(jetstream.StreamConfig{
			Name: DeadLetterStream, Description: "wasmfaas dead letters", Subjects: []string{DeadLetterPrefix + ".>"},
			MaxAge: l.cfg.DeadLetterMaxAge, Duplicates: l.window(l.cfg.DeadLetterMaxAge),
		}, ageWords(l.cfg.DeadLetterMaxAge, "until deleted"), "trigger delivery", "the dead-letter API (list, show, replay)"),
		stream(jetstream.StreamConfig{
			Name: PropsStream, Description: "wasmfaas property-changed events", Subjects: []string{PropsSubject + ".>"},
			MaxAge: l.cfg.PropsMaxAge, Duplicates: l.window(l.cfg.PropsMaxAge),
		}, ageWords(l.cfg.PropsMaxAge, ""), "the state store's relay ("+PropsRelay+"), one event per property write", "triggers on wasmfaas.property.changed"),
		stream(jetstream.StreamConfig{
			Name: CallsStream, Description: "wasmfaas call log", Subjects: []string{CallsSubject + ".*.*.*", CallsSubject + ".*.*"},
			Discard: jetstream.DiscardOld, MaxAge: l.cfg.CallsMaxAge, MaxMsgs: maxCalls,
			Duplicates: l.window(l.cfg.CallsMaxAge), AllowDirect: true,
		}, callsWords(l.cfg.CallsMaxAge, l.cfg.CallsMaxCount), "the call path, one execution event per call, on its own subject", "the calls API (list, get by id), triggers on wasmfaas.execution, the router's restart scan"),
		stream(jetstream.StreamConfig{
			Name: CallIDStream, Description: "wasmfaas call log: call id to sequence in " + CallsStream, Subjects: []string{CallIDSubject + ".*"},
			Discard: jetstream.DiscardOld, MaxAge: l.cfg.CallsMaxAge, MaxMsgs: maxCalls, MaxMsgsPerSubject: 1,
			Duplicates: l.window(l.cfg.CallsMaxAge), AllowDirect: true,
		}, callsWords(l.cfg.CallsMaxAge, l.cfg.CallsMaxCount)+", one per call id", "earlier versions' call path (no longer written)", "the calls API, for calls of earlier versions"),
		stream(jetstream.StreamConfig{
			Name: SchedulesStream, Description: "wasmfaas scheduled events (JetStream message schedules)", Subjects: []string{SchedulesSubject + ".>"},
			AllowMsgSchedules: true, AllowMsgTTL: true, AllowRollup: true, Duplicates: DefaultDuplicateWindow,
		}, "each pending schedule until it fires or is cancelled (a repeating one until its trigger is deleted); fired events for "+duration(FiredTTL), "cron triggers (the router), functions' scheduled events (the call path)", "the server's scheduler, triggers' durable consumers"),
		bucket(KVBucket, "wasmfaas KV namespaces", abi.MaxValueLen, 1, "guests (kv capability)", "guests, every host's mirror"),
		bucket(PropsBucket, "wasmfaas subject properties", abi.MaxPropertyLen, 1, "guests (props capability)", "guests, the properties API"),
		bucket(ExtBucket, "wasmfaas extended properties", abi.MaxExtValueLen, 1, "guests (props capability)", "guests, the properties API"),
		bucket(DefsBucket, "wasmfaas function and trigger definitions", 0, DefsHistory, "the management API", "every host at start, revisions and rollback"),
		{Kind: KindObjectStore, Name: ModulesBucket, Subjects: []string{"$O." + ModulesBucket + ".>"}, Retention: "until deleted", Writers: "module upload", Readers: "every host, compiling modules", obj: &obj},
		{
			Kind: KindConsumer, Name: PropsRelay, Subjects: []string{"$KV." + PropsBucket + ".>"},
			Retention: "durable on KV_" + PropsBucket + ", from its creation on; a write is acknowledged once its event is stored",
			Writers:   "-", Readers: "every host's state store, one pinned at a time, publishing to " + PropsStream, on: "KV_" + PropsBucket,
			consumer: &jetstream.ConsumerConfig{
				Durable: PropsRelay, Description: "wasmfaas property-changed event relay",
				DeliverPolicy: jetstream.DeliverNewPolicy, AckPolicy: jetstream.AckExplicitPolicy,
				AckWait: 30 * time.Second, MaxAckPending: 4096, FilterSubject: "$KV." + PropsBucket + ".>",
				PriorityPolicy: jetstream.PriorityPolicyPinned, PriorityGroups: []string{PropsRelayGroup},
				PinnedTTL: PropsRelayPinnedTTL, Replicas: r,
			},
		},
	}
}

func ageWords(age time.Duration, none string) string {
	if age <= 0 {
		return none
	}
	return "max age " + duration(age)
}

// duration writes d in days or hours when it is a whole number of them.
func duration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d%day == 0:
		return fmt.Sprintf("%dd", d/day)
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

func maxBytes(n int64) int64 {
	if n <= 0 {
		return -1
	}
	return n
}

func limitWords(age time.Duration, bytes int64) string {
	w := ageWords(age, "until deleted")
	if bytes > 0 {
		w += fmt.Sprintf(", at most %d GiB, oldest dropped", bytes>>30)
	}
	return w
}

func callsWords(age time.Duration, count int64) string {
	var parts []string
	if age > 0 {
		parts = append(parts, "max age "+duration(age))
	}
	if count > 0 {
		parts = append(parts, fmt.Sprintf("max %d calls", count))
	}
	if len(parts) == 0 {
		return "until deleted"
	}
	return strings.Join(parts, ", ") + ", oldest dropped"
}

// Streams returns the configuration of every stream.
func (l Layout) Streams() []jetstream.StreamConfig {
	var out []jetstream.StreamConfig
	for _, r := range l.Resources() {
		if r.stream != nil {
			out = append(out, *r.stream)
		}
	}
	return out
}

// Buckets returns the configuration of every KV bucket.
func (l Layout) Buckets() []jetstream.KeyValueConfig {
	var out []jetstream.KeyValueConfig
	for _, r := range l.Resources() {
		if r.kv != nil {
			out = append(out, *r.kv)
		}
	}
	return out
}

// Consumers returns the configuration of every durable consumer the layout
// declares.
func (l Layout) Consumers() []jetstream.ConsumerConfig {
	var out []jetstream.ConsumerConfig
	for _, r := range l.Resources() {
		if r.consumer != nil {
			out = append(out, *r.consumer)
		}
	}
	return out
}

// ObjectStores returns the configuration of every object store.
func (l Layout) ObjectStores() []jetstream.ObjectStoreConfig {
	var out []jetstream.ObjectStoreConfig
	for _, r := range l.Resources() {
		if r.obj != nil {
			out = append(out, *r.obj)
		}
	}
	return out
}

// Ensure creates every resource that is missing and updates those that
// exist, so a changed retention or replica count applies to state that is
// already there, and returns once every resource has a leader (see led).
// It is safe to run from many hosts at once, on a cluster too (see
// ensure, and docs/RATIONALE.md, "Why does `Layout.Ensure` ask to create
// before it updates?").
func (l Layout) Ensure(ctx context.Context, js jetstream.JetStream) error {
	var errs []error
	for _, r := range l.Resources() {
		var err error
		for range ensureTries {
			actx, cancel := context.WithTimeout(ctx, ensureAsk)
			err = ensure(actx, js, r)
			if err == nil {
				err = led(actx, js, r)
			}
			cancel()
			if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
				break
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("ensure %s %s: %w", r.Kind, r.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ensureTries bounds how often Ensure asks for one resource, ensureAsk
// how long it waits for each answer; leaderPoll is how often waitLeader
// asks for a stream's leader, and leaderAsk how long it waits.
const (
	ensureTries = 3
	ensureAsk   = 10 * time.Second
	leaderPoll  = 20 * time.Millisecond
	leaderAsk   = 2 * time.Second
)

// ensure creates r if it is missing and updates it if it exists with
// another configuration. Every step can be asked again, so Ensure asks
// again when one goes unanswered.
//
// It asks to create first, which the server answers at once when the
// resource exists with the same configuration, and updates only one
// that exists with another, once its stream has a leader. On a cluster,
// hosts starting together otherwise wait until they time out: a stream
// update (or info) that reaches the cluster while the new stream has not
// elected its leader is not answered, and holds up the answers to the
// creates with it; nats.go's CreateOrUpdate*, which update first and
// create when that finds nothing, did exactly that.
func ensure(ctx context.Context, js jetstream.JetStream, r Resource) error {
	switch {
	case r.stream != nil:
		_, err := js.CreateStream(ctx, *r.stream)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			if _, err = waitLeader(ctx, js, r.stream.Name); err == nil {
				_, err = js.UpdateStream(ctx, *r.stream)
			}
		}
		return err
	case r.kv != nil && r.writeOnce:
		return ensureWriteOnce(ctx, js, *r.kv, r.keepAll)
	case r.kv != nil:
		_, err := js.CreateKeyValue(ctx, *r.kv)
		if errors.Is(err, jetstream.ErrBucketExists) {
			if _, err = waitLeader(ctx, js, "KV_"+r.kv.Bucket); err == nil {
				_, err = js.UpdateKeyValue(ctx, *r.kv)
			}
		}
		return err
	case r.obj != nil:
		_, err := js.CreateObjectStore(ctx, *r.obj)
		if errors.Is(err, jetstream.ErrBucketExists) {
			if _, err = waitLeader(ctx, js, "OBJ_"+r.obj.Bucket); err == nil {
				_, err = js.UpdateObjectStore(ctx, *r.obj)
			}
		}
		return err
	case r.consumer != nil:
		return ensureConsumer(ctx, js, r.on, *r.consumer)
	}
	return nil
}

// led waits until r has a leader: Ensure returns only once every resource
// answers, because a request to a replicated stream or consumer that has
// not elected its leader yet is not answered at all, and whoever opens the
// resource next would wait for it until its deadline.
func led(ctx context.Context, js jetstream.JetStream, r Resource) error {
	switch {
	case r.stream != nil:
		_, err := waitLeader(ctx, js, r.stream.Name)
		return err
	case r.kv != nil:
		_, err := waitLeader(ctx, js, "KV_"+r.kv.Bucket)
		return err
	case r.obj != nil:
		_, err := waitLeader(ctx, js, "OBJ_"+r.obj.Bucket)
		return err
	case r.consumer != nil:
		return poll(ctx, "consumer "+r.consumer.Durable, func(ctx context.Context) (*jetstream.ClusterInfo, error) {
			c, err := js.Consumer(ctx, r.on, r.consumer.Durable)
			if err != nil {
				if errors.Is(err, jetstream.ErrConsumerNotFound) {
					err = errNotYet
				}
				return nil, err
			}
			return c.CachedInfo().Cluster, nil
		})
	}
	return nil
}

// waitLeader waits until stream has a leader (at once on a single server)
// and returns it, its info fresh.
func waitLeader(ctx context.Context, js jetstream.JetStream, stream string) (jetstream.Stream, error) {
	var st jetstream.Stream
	err := poll(ctx, "stream "+stream, func(ctx context.Context) (*jetstream.ClusterInfo, error) {
		var err error
		st, err = js.Stream(ctx, stream)
		if err != nil {
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				err = errNotYet
			}
			return nil, err
		}
		return st.CachedInfo().Cluster, nil
	})
	return st, err
}

// errNotYet is what poll's info returns for a resource that was created
// but is not yet known to the server that answered.
var errNotYet = errors.New("not known yet")

// poll asks info, each time for leaderAsk at most, until it names a
// leader or no cluster (a single server); an unanswered question and one
// about a resource not known yet are asked again every leaderPoll.
func poll(ctx context.Context, what string, info func(context.Context) (*jetstream.ClusterInfo, error)) error {
	for {
		actx, cancel := context.WithTimeout(ctx, leaderAsk)
		ci, err := info(actx)
		cancel()
		switch {
		case err == nil:
			if ci == nil || ci.Leader != "" {
				return nil
			}
		case ctx.Err() != nil:
			return err
		case errors.Is(err, errNotYet), errors.Is(err, context.DeadlineExceeded):
		default:
			return err
		}
		t := time.NewTimer(leaderPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wait for a leader of %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}

// ensureConsumer creates the durable consumer if it is missing. An
// existing one is left as it is: its delivery state is the point, and its
// start policy cannot change. It asks to create first, like Ensure: the
// server answers at once for one that exists (no error with the same
// configuration, ErrConsumerExists with another), where asking for the
// consumer's info on a cluster goes unanswered while another host's
// create of it is under way.
func ensureConsumer(ctx context.Context, js jetstream.JetStream, stream string, cc jetstream.ConsumerConfig) error {
	_, err := js.CreateConsumer(ctx, stream, cc)
	if errors.Is(err, jetstream.ErrConsumerExists) {
		return nil
	}
	return err
}

// ensureWriteOnce creates the bucket if it is missing, then sets on its
// stream what KeyValueConfig cannot express (AllowAtomicPublish,
// AllowMsgTTL, no per-key limit with keepAll) along with what the layout
// may change on an existing bucket (description, history, max value size,
// replicas). It cannot use
// CreateOrUpdateKeyValue on an existing bucket: that would ask to turn
// AllowMsgTTL off, which the server refuses.
func ensureWriteOnce(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValueConfig, keepAll bool) error {
	name := "KV_" + kv.Bucket
	// Create first, as Ensure does: the bucket exists (with the settings
	// below, so not as created) unless this is the first start.
	_, err := js.CreateKeyValue(ctx, kv)
	if err != nil && !errors.Is(err, jetstream.ErrBucketExists) {
		return err
	}
	st, err := waitLeader(ctx, js, name)
	if err != nil {
		return err
	}
	sc := st.CachedInfo().Config
	want := sc
	want.Description = kv.Description
	want.MaxMsgsPerSubject = max(int64(kv.History), 1)
	if keepAll {
		want.MaxMsgsPerSubject = KeepAllPerKey
	}
	want.MaxMsgSize = kv.MaxValueSize
	if want.MaxMsgSize == 0 {
		want.MaxMsgSize = -1
	}
	want.Replicas = max(kv.Replicas, 1)
	want.AllowAtomicPublish, want.AllowMsgTTL = true, true
	if reflect.DeepEqual(sc, want) {
		return nil
	}
	_, err = js.UpdateStream(ctx, want)
	return err
}

// Table is the layout as a Markdown table: name, kind, subjects,
// retention, who writes, who reads.
func (l Layout) Table() string {
	var b strings.Builder
	b.WriteString("| name | kind | subjects | retention | written by | read by |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, r := range l.Resources() {
		subj := make([]string, len(r.Subjects))
		for i, s := range r.Subjects {
			subj[i] = "`" + s + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", r.Name, r.Kind, strings.Join(subj, ", "), r.Retention, r.Writers, r.Readers)
	}
	return b.String()
}

// Check reports, for every stream of the layout (KV buckets and object
// stores included), data lost to damaged storage: messages JetStream
// found unreadable at start (State.Lost), and a last sequence below the
// one seen before (seen, from an earlier Check; a block truncated at its
// end is not reported as lost by JetStream, it just ends sooner). It
// returns what it found and the last sequences to remember for the next
// start. JetStream drops what it cannot read and carries on; this makes
// it loud.
func (l Layout) Check(ctx context.Context, js jetstream.JetStream, seen map[string]Seen) (lost map[string]string, last map[string]Seen, err error) {
	lost, last = map[string]string{}, map[string]Seen{}
	for _, r := range l.Resources() {
		name := r.Name
		switch r.Kind {
		case KindConsumer:
			continue
		case KindKV:
			name = "KV_" + r.Name
		case KindObjectStore:
			name = "OBJ_" + r.Name
		}
		s, err := js.Stream(ctx, name)
		if err != nil {
			return nil, nil, fmt.Errorf("check %s %s: %w", r.Kind, r.Name, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("check %s %s: %w", r.Kind, r.Name, err)
		}
		st, was := info.State, seen[r.Name]
		last[r.Name] = Seen{LastSeq: st.LastSeq, Msgs: st.Msgs}
		switch {
		case st.Lost != nil && len(st.Lost.Msgs) > 0:
			lost[r.Name] = fmt.Sprintf("%d messages (%d bytes) lost to damaged storage, sequences %s",
				len(st.Lost.Msgs), st.Lost.Bytes, seqRange(st.Lost.Msgs))
		case was.LastSeq > st.LastSeq:
			lost[r.Name] = fmt.Sprintf("the last sequence went back from %d to %d: messages lost to damaged storage",
				was.LastSeq, st.LastSeq)
		case was.LastSeq == st.LastSeq && was.Msgs > st.Msgs && info.Config.MaxAge == 0 && !info.Config.AllowMsgTTL:
			// Nothing was written since, and nothing expires (no max
			// age, no per-message TTL such as write markers'): only
			// damaged storage removes messages then.
			lost[r.Name] = fmt.Sprintf("%d of %d messages lost to damaged storage since the last stop", was.Msgs-st.Msgs, was.Msgs)
		}
	}
	return lost, last, nil
}

// Seen is what Check remembers of a stream for the next start.
type Seen struct {
	LastSeq uint64 `json:"last_seq"`
	Msgs    uint64 `json:"msgs"`
}

func seqRange(seqs []uint64) string {
	if len(seqs) == 1 {
		return fmt.Sprint(seqs[0])
	}
	lo, hi := seqs[0], seqs[0]
	for _, s := range seqs {
		lo, hi = min(lo, s), max(hi, s)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}
