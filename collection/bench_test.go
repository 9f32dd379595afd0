package collection

import (
	"math/rand/v2"
	"testing"

	"github.com/gomrl/mrl/server/api"
)

// BenchmarkSearchIDs searches a collection of 20000 points (a snapshot
// plus 500 changes since) with integer ids and with UUID ids: the delta
// merge and the filter's payload lookups key maps by PointID, and a
// snapshot with UUIDs maps its searchers' row numbers back to ids. The
// lead measures; the figures are not in the docs.
func BenchmarkSearchIDs(b *testing.B) {
	for _, kind := range []string{"int", "uuid"} {
		b.Run(kind, func(b *testing.B) {
			const n, d, changed = 20000, 64, 500
			rng := rand.New(rand.NewPCG(1, 2))
			id := func(i int) PointID {
				if kind == "int" {
					return api.IntID(uint64(i))
				}
				var u [16]byte
				u[0], u[14], u[15] = 0x5a, byte(i>>8), byte(i)
				return api.UUIDFromBytes(u)
			}
			vec := func() []float32 {
				v := make([]float32, d)
				for j := range v {
					v[j] = rng.Float32()*2 - 1
				}
				return v
			}
			s := openStore(b, "", Options{SnapshotEvery: -1, RebuildMin: 1 << 30})
			c := mustCreate(b, s, Meta{Name: "b", Dim: d, Metric: "ip"})
			for lo := 0; lo < n; lo += 1000 {
				var pts []Point
				for i := lo; i < lo+1000; i++ {
					pts = append(pts, Point{ID: id(i), Vector: vec(), Payload: map[string]any{"p": float64(i % 7)}})
				}
				mustUpsert(b, s, "b", pts...)
			}
			if err := c.Snapshot(); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < changed; i++ {
				mustUpsert(b, s, "b", Point{ID: id(i * 7), Vector: vec(), Payload: map[string]any{"p": 1.0}})
			}
			q := vec()
			for _, f := range []struct {
				name   string
				filter map[string]any
			}{{"nofilter", nil}, {"filter", map[string]any{"p": 3.0}}} {
				b.Run(f.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := c.Search(b.Context(), Query{Vector: q, Dim: 32, K: 10, Filter: f.filter, WithPayload: true}); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
