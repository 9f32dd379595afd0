package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Write writes the report of r into dir (created if needed): results.json,
// one CSV per table, the plots as PNG and SVG, report.md (which links the PNGs) and
// report.html (which embeds them, so it stands alone). It returns the
// files written.
func Write(dir string, r *Results) ([]string, error) {
	tables := Tables(r)
	plots, err := Plots(r)
	if err != nil {
		return nil, err
	}
	var md, h bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		return nil, err
	}
	if err := WriteHTML(&h, r, tables, plots); err != nil {
		return nil, err
	}
	return writeFiles(dir, r, tables, plots, md.Bytes(), h.Bytes())
}

// WriteText writes a text report into dir as Write does: results.json, a
// CSV per table, the plots as PNG and SVG, report.md and report.html.
func WriteText(dir string, r *TextResults) ([]string, error) {
	tables := TextTables(r)
	plots, err := TextPlots(r)
	if err != nil {
		return nil, err
	}
	var md, h bytes.Buffer
	if err := WriteTextMarkdown(&md, r); err != nil {
		return nil, err
	}
	if err := writeHTML(&h, "MRL text report: "+r.Setup.Data, textSetupLines(r), tables, plots); err != nil {
		return nil, err
	}
	return writeFiles(dir, r, tables, plots, md.Bytes(), h.Bytes())
}

// writeFiles writes the files of a report into dir (created if needed)
// and returns their paths.
func writeFiles(dir string, results any, tables []Table, plots []Plot, md, html []byte) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	put := func(name string, b []byte) error {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		files = append(files, path)
		return nil
	}
	js, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := put("results.json", append(js, '\n')); err != nil {
		return nil, err
	}
	for _, t := range tables {
		var b bytes.Buffer
		if err := WriteCSV(&b, t); err != nil {
			return nil, err
		}
		if err := put(t.Name+".csv", b.Bytes()); err != nil {
			return nil, err
		}
	}
	for _, p := range plots {
		if err := put(p.Name, p.PNG); err != nil {
			return nil, err
		}
		if err := put(strings.TrimSuffix(p.Name, ".png")+".svg", p.SVG); err != nil {
			return nil, err
		}
	}
	if err := put("report.md", md); err != nil {
		return nil, err
	}
	if err := put("report.html", html); err != nil {
		return nil, err
	}
	return files, nil
}

var htmlTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.num{text-align:right}
td.pass{color:#070;font-weight:bold} td.miss{color:#b00;font-weight:bold}
p.note{color:#555} img{max-width:100%}
li{overflow-wrap:anywhere} td,p{overflow-wrap:break-word} pre,code{white-space:pre-wrap;word-break:break-all}
</style></head><body>
<h1>{{.Title}}</h1>
<ul>{{range .Setup}}<li>{{.}}</li>{{end}}</ul>
{{range .Sections}}<h2>{{.Title}}</h2>
<p class="note">{{.Note}}</p>
{{if .Img}}<img alt="{{.Title}}" src="{{.Img}}">{{end}}
<table><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Cells}}<tr>{{range .}}<td{{with .Class}} class="{{.}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</table>
{{end}}</body></html>
`))

// WriteHTML writes a self-contained HTML report: the tables, and the plots
// embedded as base64 data URIs.
func WriteHTML(w io.Writer, r *Results, tables []Table, plots []Plot) error {
	return writeHTML(w, "MRL reproduction report: "+r.Setup.Data, setupLines(r), tables, plots)
}

func writeHTML(w io.Writer, title string, setup []string, tables []Table, plots []Plot) error {
	img := map[string]template.URL{}
	for _, p := range plots {
		img[p.Name] = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(p.PNG))
	}
	type cell struct{ Text, Class string }
	type section struct {
		Table
		Img   template.URL
		Cells [][]cell
	}
	var secs []section
	for _, t := range tables {
		sec := section{Table: t, Img: img[t.Plot]}
		num := make([]bool, len(t.Header))
		for i := range num {
			num[i] = numericColumn(t, i)
		}
		for _, r := range t.Rows {
			cs := make([]cell, len(r))
			for i, v := range r {
				cs[i].Text = v
				switch {
				case v == "PASS":
					cs[i].Class = "pass"
				case v == "MISS":
					cs[i].Class = "miss"
				case v == "stated": // neither pass nor miss: plain text
				case i < len(num) && num[i]:
					cs[i].Class = "num"
				}
			}
			sec.Cells = append(sec.Cells, cs)
		}
		secs = append(secs, sec)
	}
	err := htmlTmpl.Execute(w, struct {
		Title    string
		Setup    []string
		Sections []section
	}{title, setup, secs})
	if err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}
