package server

import "github.com/gomrl/mrl/server/api"

// The wire types of the API live in package api, shared with the Go
// client; the server names them as before.
type (
	IndexSpec               = api.IndexSpec
	Meta                    = api.Meta
	CollectionInfo          = api.CollectionInfo
	Hit                     = api.Hit
	StageTiming             = api.StageTiming
	Point                   = api.Point
	ScrollResponse          = api.ScrollResponse
	UpsertResponse          = api.UpsertResponse
	DeleteResponse          = api.DeleteResponse
	SearchResult            = api.SearchResult
	SearchResponse          = api.SearchResponse
	ModelInfo               = api.ModelInfo
	EmbedResponse           = api.EmbedResponse
	Classification          = api.Classification
	ClassifyResponse        = api.ClassifyResponse
	CreateCollectionRequest = api.CreateCollectionRequest
	UpsertRequest           = api.UpsertRequest
	DeleteRequest           = api.DeleteRequest
	SearchRequest           = api.SearchRequest
	LoadModelRequest        = api.LoadModelRequest
	EmbedRequest            = api.EmbedRequest
	ClassifyRequest         = api.ClassifyRequest
	InputSpec               = api.InputSpec
	ModelRef                = api.ModelRef
	AdapterRef              = api.AdapterRef
)
