module github.com/gomrl/mrl

go 1.26
