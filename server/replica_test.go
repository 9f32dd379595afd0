package server

import (
	"runtime"
	"testing"

	"github.com/gomrl/mrl/model"
)

// TestReplicaList: idle replicas survive garbage collections (a sync.Pool
// dropped them, so text models rebuilt theirs after each one) and at most
// maxIdleReplicas are kept.
func TestReplicaList(t *testing.T) {
	var l replicaList
	if r := l.Get(); r != nil {
		t.Fatalf("empty list: Get = %p, want nil", r)
	}
	ms := make([]*model.Model, maxIdleReplicas+3)
	for i := range ms {
		ms[i] = &model.Model{}
		l.Put(ms[i])
	}
	runtime.GC()
	runtime.GC()
	for i := maxIdleReplicas - 1; i >= 0; i-- {
		if r := l.Get(); r != ms[i] {
			t.Fatalf("Get after GC = %p, want replica %d (%p)", r, i, ms[i])
		}
	}
	if r := l.Get(); r != nil {
		t.Errorf("Get past the %d kept = %p, want nil", maxIdleReplicas, r)
	}
}
