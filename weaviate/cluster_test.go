package weaviate

import (
	"errors"
	"testing"

	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
)

func TestTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{errors.New("explorer: get class: vector search: object vector search at index docs: inconsistent consistency levels: shard x resolved to 1, shard y resolved to 2"), true},
		{&fault.WeaviateClientError{IsUnexpectedStatusCode: true, StatusCode: 500, Msg: `{"error":[{"message":"put object: cannot achieve consistency level \"QUORUM\": cannot reach enough replicas"}]}`}, true},
		{errors.New(`msg:search: local docs_abc shard is not ready`), true},
		{errors.New("no such class"), false},
		{&fault.WeaviateClientError{IsUnexpectedStatusCode: true, StatusCode: 422, Msg: "invalid property"}, false},
	}
	for _, tt := range tests {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
