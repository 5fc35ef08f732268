package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"complaintbot/router/classify"
)

// classifierFlags adds -data and -rules to a subcommand's flags.
type classifierFlags struct {
	data, rules *string
}

func parseClassifierFlags(name string, args []string, extra func(*flagSet)) (classifierFlags, error) {
	fs := newFlags(name)
	f := classifierFlags{
		data:  fs.String("data", "", "JSON Lines file of messages ({id, channel, subject, text})"),
		rules: fs.String("rules", "", "classification rules (YAML); default: the built-in rules"),
	}
	if extra != nil {
		extra(&flagSet{fs})
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if *f.data == "" {
		return f, errors.New("-data FILE is required")
	}
	return f, nil
}

func (f classifierFlags) classifier() (*classify.Classifier, error) {
	var o classify.Options
	if *f.rules != "" {
		r, err := classify.LoadRules(*f.rules)
		if err != nil {
			return nil, err
		}
		o.Rules = r
	}
	return classify.New(o)
}

func readData[T any](path string) ([]T, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	v, err := classify.ReadJSONL[T](fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// cmdClassify writes one prediction per input message, in order.
func cmdClassify(args []string, stdout io.Writer) error {
	f, err := parseClassifierFlags("classify", args, nil)
	if err != nil {
		return err
	}
	c, err := f.classifier()
	if err != nil {
		return err
	}
	msgs, err := readData[classify.Message](*f.data)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, m := range msgs {
		if err := enc.Encode(classify.NewPrediction(m.ID, c.Classify(m.Subject, m.Text))); err != nil {
			return err
		}
	}
	return w.Flush()
}

// cmdEval scores the classifier on a labelled file.
func cmdEval(args []string, stdout io.Writer) error {
	var asJSON *bool
	f, err := parseClassifierFlags("eval", args, func(fs *flagSet) {
		asJSON = fs.Bool("json", false, "print the report as JSON (with the ids of misclassified examples)")
	})
	if err != nil {
		return err
	}
	c, err := f.classifier()
	if err != nil {
		return err
	}
	exs, err := readData[classify.Example](*f.data)
	if err != nil {
		return err
	}
	rep := classify.Evaluate(c, exs)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteText(stdout)
}
