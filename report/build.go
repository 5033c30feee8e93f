package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tramlab/tram/grid"
)

// build lays out the report and draws its plots.
func build(in *input, claims []Claim) (*doc, []*figure) {
	d := &doc{}
	var figs []*figure
	s, g := in.sum, in.g
	// suffix names a training domain's files: "" for a single one.
	suffix := func(t grid.Table) string {
		if len(s.Tables) == 1 && t.TrainDomain == "" {
			return ""
		}
		return "-" + fileSafe(trainLabel(t))
	}
	add := func(f *figure, err error, what string) {
		switch {
		case err != nil:
			d.p("(The %s could not be drawn: %v.)", what, err)
		case f != nil:
			d.figure(f)
			figs = append(figs, f)
		}
	}

	d.h(1, "TRAM grid report: "+g.Family)
	if len(in.missing) > 0 {
		d.p("> **Partial: %d of %d runs.** The tables, tests and verdicts below use only the runs done so far (%d runs missing, listed under Runs); comparisons are paired over the seeds both rows have.",
			len(in.expected)-len(in.missing), len(in.expected), len(in.missing))
	}
	header(d, in)
	tables := "Each table is one training domain: the model is fine-tuned there and tested on every domain of the family; the first column is the training (in-domain) domain, the last the out-of-domain (OOD) average."
	if g.UserData != nil {
		tables = "Each table is one training set of the study's own data: the model is fine-tuned on it and tested on every test set the study names; the first column is the in-domain test set (drawn like the training data), the others are out of domain, and the last column is their (OOD) average."
	}
	d.p("**How to read this.** %s A cell is the mean over seeds ± the half-width of its 95%% interval (Student's t); n is the number of seeds. Every seed gives all rows the same data order, head initialization and test examples, so rows are compared *paired by seed*: a paired t-test over seeds (two-sided) asks whether the per-seed differences are consistently away from 0, which is far more sensitive than overlapping intervals. Bold marks the best main row of each column. Every comparison the report makes is one family for Holm's adjustment of its p-values (many comparisons would otherwise find differences by chance), and each reads as *better* or *worse* (adjusted p < %.2f), *equivalent* (the equivalence test, TOST, shows the difference lies within ±%s with adjusted p < %.2f), or *inconclusive*: this many seeds can say neither. A claim is *held* only on significant differences the claimed way, and *not held* only on equivalence or significant differences the other way — never on mere non-significance.", tables, Alpha, marginWords(s), Alpha)

	d.h(2, "Results")
	for _, t := range s.Tables {
		d.h(3, "Trained on "+trainLabel(t))
		d.p("%s; mean ± 95%% CI over seeds.", capitalize(metricWords(s)))
		d.table(resultsTable(s, t))
		if len(t.Saturated) > 0 {
			d.p("Saturated: %s (the base row's mean accuracy is at least %.0f%% there, so every method scores about the same); left out of the OOD average.",
				strings.Join(t.Saturated, ", "), grid.SaturatedAccuracy)
		}
		f, err := barPlot("bars"+suffix(t)+".svg", s, t)
		add(f, err, "bar chart")
		if zt := zeroShotTable(s, t); zt != nil {
			zr, _ := rowOf(t, t.ZeroShot)
			d.p("**Against the starting model.** Each row's change from the zero-shot row `%s` (%s), per domain, row − %s paired by seed, in the metric's units: ↑ fine-tuning this way helped there (p < %.2f), ↓ it hurt; no mark: not significant. The last column counts the domains (OOD average aside) helped and hurt.",
				t.ZeroShot, zeroShotWhat(in, zr.Row), t.ZeroShot, Alpha)
			d.table(*zt)
		}
	}

	if len(s.Tuning) > 0 {
		d.h(2, "Tuning")
		d.p("Every tuned row ran each candidate at the tuning seeds (%s), disjoint from the evaluation seeds; the candidate with the lowest mean validation loss on the training domain was *chosen*, and the evaluation seeds ran it: no out-of-domain score took part. *oracle* marks the candidate with the best OOD average on the tuning seeds — what peeking at the test domains would pick — shown for comparison only, never used for a verdict. Mean ± 95%% CI over the tuning seeds.", ints(tuningSeeds(g)))
		for _, tt := range s.Tuning {
			where := ""
			if tt.Regime != "" {
				where = ", regime " + tt.Regime
			}
			if tt.TrainDomain != "" {
				where += ", trained on " + tt.TrainDomain
			}
			d.p("**%s**%s%s:", tt.Row, where, map[bool]string{false: " (tuning not complete: nothing chosen yet)", true: ""}[tt.Complete])
			tb := table{head: []string{"candidate", "validation loss", "in-domain", "OOD avg", "n", "chosen", "oracle"}, left: 1}
			for _, tr := range tt.Trials {
				tb.rows = append(tb.rows, []string{tr.Name, estCell(tr.ValLoss, 4), estCell(tr.In, 1), estCell(tr.OOD, 1), fmt.Sprint(tr.ValLoss.N),
					map[bool]string{true: "✓"}[tr.Chosen], map[bool]string{true: "oracle"}[tr.Oracle]})
			}
			d.table(tb)
		}
		for _, t := range s.Tables {
			f, err := tuningFrontierPlot("tuning-frontier"+suffix(t)+".svg", s, t)
			add(f, err, "per-method frontier plot")
		}
	}

	d.h(2, "Claims")
	d.p("Each of the paper's claims checked against these runs; the verdict comes from the numbers below it (held: the claimed direction, significant after Holm's adjustment, everywhere the claim applies; not held: equivalent within the margin, or significantly the other way; inconclusive: neither; mixed: held on some training domains or comparisons and not on others, or only because the base optimizer itself does as well; not measured: rows or measurements missing).")
	tb := table{head: []string{"#", "claim", "verdict"}, left: 3}
	for _, c := range claims {
		tb.rows = append(tb.rows, []string{fmt.Sprint(c.Number), c.Title, "**" + string(c.Verdict) + "**"})
	}
	d.table(tb)
	for _, c := range claims {
		d.p("**%d. %s** Verdict: **%s**.", c.Number, c.Statement, c.Verdict)
		d.list(c.Evidence...)
	}

	d.h(2, "Paired comparisons")
	d.p("All tests here are paired t-tests over seeds, two-sided. The *effective robustness* (frontier gain) asks whether a row does better out of domain than the plain optimizer could by simply being fine-tuned less or more: per seed, the base row, its lower-learning-rate (frontier) rows, its earlier checkpoints and its WiSE-FT points (when the study has them) trace a curve of OOD average against in-domain quality, and a row's gain is how far its OOD average lies above that curve at the row's own in-domain value (positive is better, in the metric's units). *outside* counts seeds whose in-domain value lies beyond the curve's ends, where it was extrapolated and deserves less trust.")
	for _, t := range s.Tables {
		d.h(3, "Trained on "+trainLabel(t))
		pairedSection(d, s, t)
		f, err := frontierPlot("frontier"+suffix(t)+".svg", in, t)
		add(f, err, "frontier plot")
	}

	var sharp, cka []string
	for _, t := range s.Tables {
		if tb := extraTable(t, func(r grid.RowSummary) (map[string]grid.Estimate, *grid.Estimate) { return r.Sharpness, r.SharpnessOOD }, 2); tb != nil {
			sharp = append(sharp, trainLabel(t))
		}
		if tb := extraTable(t, func(r grid.RowSummary) (map[string]grid.Estimate, *grid.Estimate) { return r.CKA, r.CKAOOD }, 3); tb != nil {
			cka = append(cka, trainLabel(t))
		}
	}
	if len(sharp)+len(cka) > 0 {
		d.h(2, "ε-sharpness and CKA")
		d.p("Table 6's shape. ε-sharpness is the loss increase under the worst perturbation in a box of relative size ε, ×100 relative to 1 + loss (lower is flatter). CKA is linear CKA between this model's and the pretrained model's representations before the head (higher is closer). Mean ± 95%% CI over seeds.")
		for _, t := range s.Tables {
			if tb := extraTable(t, func(r grid.RowSummary) (map[string]grid.Estimate, *grid.Estimate) { return r.Sharpness, r.SharpnessOOD }, 2); tb != nil {
				d.p("ε-sharpness, trained on %s:", trainLabel(t))
				d.table(*tb)
			}
			if tb := extraTable(t, func(r grid.RowSummary) (map[string]grid.Estimate, *grid.Estimate) { return r.CKA, r.CKAOOD }, 3); tb != nil {
				d.p("CKA to the pretrained model, trained on %s:", trainLabel(t))
				d.table(*tb)
			}
		}
	}

	if s.Metric == "perplexity" {
		d.h(2, "In-domain against out-of-domain perplexity")
		d.p("Table 9 and Figure 2's shape: across methods (main rows, naive combinations left out), the Pearson correlation between the in-domain perplexity and each out-of-domain domain's. *prior* fits the methods before TRAM only, *all* adds the TRAM rows. ρ < 0 marks an anticorrelated domain: a better in-domain perplexity comes with a worse one there. A TRAM point below the prior line is better out of domain than the prior methods' trend predicts.")
		for _, t := range s.Tables {
			d.h(3, "Trained on "+trainLabel(t))
			d.table(correlationTable(t))
			f, err := scatterPlot("correlation"+suffix(t)+".svg", s, t)
			add(f, err, "correlation plot")
		}
	}

	d.h(2, "Training curves")
	d.p("From the step logs: per main row, the mean over seeds at each step (curves longer than %d points are averaged in buckets). TRAM rows are solid, the others dashed. d is TRAM's trust-region divergence d_t, or the fixed radius of SAM, ASAM, FSAM; methods without a perturbation have none and are left out of the log-scale plots of d and ‖ε‖.", maxPoints)
	for _, t := range s.Tables {
		d.h(3, "Trained on "+trainLabel(t))
		cs, err := curves(in, t)
		if err != nil {
			d.p("(The step logs could not be read: %v.)", err)
			continue
		}
		drawn := false
		for _, q := range quantities {
			if len(cs[q.key]) == 0 {
				continue
			}
			f, err := curvePlot("curve-"+q.key+suffix(t)+".svg", q.title+", trained on "+trainLabel(t), q.ylabel, cs[q.key], q.log)
			add(f, err, q.title+" plot")
			drawn = drawn || f != nil
		}
		if !drawn {
			d.p("No step logs for the main rows.")
		}
	}

	d.h(2, "Rows")
	d.p("Every row is `tram finetune` with the recipe, the grid's flags and the row's own flags on top. *median d* is the median over every logged step of the row's runs of d (TRAM's trust-region divergence d_t, or a fixed radius), *median ‖ε‖* that of the perturbation's norm: a TRAM row whose d is orders of magnitude below the fixed radii perturbs by numerically nothing and equals the base optimizer.")
	rt := table{head: []string{"row", "kind", "method", "flags", "median d", "median ‖ε‖", "about"}, left: 4}
	for _, r := range g.Rows {
		md, me := logMedians(in, r.Name)
		rt.rows = append(rt.rows, []string{r.Name, r.Kind, r.Method, flagText(r.Flags), md, me, r.About})
	}
	d.table(rt)

	d.h(2, "Runs")
	runsSection(d, in)
	return d, figs
}

// logMedians returns the medians of d and ‖ε‖ over every step logged by
// the runs of a row ("" when nothing was logged).
func logMedians(in *input, row string) (d, eps string) {
	var ds, es []float64
	for _, r := range in.recs {
		if r.Row != row {
			continue
		}
		l, err := readLog(logPath(in.dir, r))
		if err != nil {
			continue
		}
		for _, v := range l["d"] {
			ds = append(ds, v)
		}
		for _, v := range l["eps-norm"] {
			es = append(es, v)
		}
	}
	med := func(xs []float64) string {
		if len(xs) == 0 {
			return ""
		}
		slices.Sort(xs)
		return strconv.FormatFloat(xs[len(xs)/2], 'g', 3, 64)
	}
	return med(ds), med(es)
}

// tuningSeeds returns a study's tuning seeds.
func tuningSeeds(g *grid.Grid) []int {
	if g.Tuning == nil {
		return nil
	}
	return g.Tuning.Seeds
}

// marginWords states the equivalence margin of a summary.
func marginWords(s *grid.Summary) string {
	if s.Metric == "perplexity" {
		return fmt.Sprintf("%g%% of the base row's mean perplexity", 100*s.Equivalence.Perplexity)
	}
	return fmt.Sprintf("%g accuracy points", s.Equivalence.Accuracy)
}

// zeroShotWhat says what a zero-shot row is, from its grid definition.
func zeroShotWhat(in *input, name string) string {
	if r, ok := in.g.Row(name); ok && r.About != "" {
		return r.About
	}
	return "the starting model, not fine-tuned"
}

// header writes the run's facts: family, command, version, machine,
// seeds and runs.
func header(d *doc, in *input) {
	g, m := in.g, in.machine
	recs := in.recs
	var items []string
	recipe := "recipe `" + g.Recipe + "`"
	if g.Recipe == "" && g.UserData != nil {
		recipe = "no recipe (the study's flags)"
	}
	family := fmt.Sprintf("**Family** %s: %s; base optimizer `%s`; %s", g.Family, metricWords(in.sum), g.Base, recipe)
	if in.file.Quick {
		family += " (**quick**: a smoke-test setting, not the full grid)"
	}
	items = append(items, family)
	if u := g.UserData; u != nil {
		line := fmt.Sprintf("**Inputs** pretrained model `%s`; your data: training set `%s`", orUnknown(in.file.Model), u.Train)
		if u.Valid != "" {
			line += fmt.Sprintf(", validation set `%s`", u.Valid)
		}
		var tests []string
		for _, t := range u.Tests {
			where := ""
			if slices.Contains(g.Domains, t.Name) {
				where = ", in-domain"
			}
			tests = append(tests, fmt.Sprintf("%s (`%s`%s)", t.Name, t.Path, where))
		}
		items = append(items, line+"; test sets "+strings.Join(tests, ", "))
	} else if in.file.Model != "" || in.file.Data != "" {
		items = append(items, fmt.Sprintf("**Inputs** pretrained model `%s`, data `%s`", orUnknown(in.file.Model), orUnknown(in.file.Data)))
	}
	version := func(key string, f func(grid.Record) string) string {
		if v, ok := m[key]; ok {
			return fmt.Sprint(v)
		}
		return strings.Join(distinct(recs, f), ", ")
	}
	ver := version("tram_version", func(r grid.Record) string { return r.Version })
	commit := version("tram_commit", func(r grid.Record) string { return r.Commit })
	line := "**Version** tram " + orUnknown(ver) + ", commit " + orUnknown(commit)
	if cs := distinct(recs, func(r grid.Record) string { return r.Commit }); len(cs) > 1 {
		line += fmt.Sprintf(" (the runs come from %d commits: %s)", len(cs), strings.Join(cs, ", "))
	}
	items = append(items, line)
	if ds := distinct(recs, func(r grid.Record) string { return r.Data }); len(ds) == 1 {
		items = append(items, fmt.Sprintf("**Data build** manifest.json sha256 `%s`", ds[0]))
	} else if len(ds) > 1 {
		items = append(items, fmt.Sprintf("**Data build** the runs come from %d builds of the data (manifest.json sha256 `%s`): their numbers are not one experiment's",
			len(ds), strings.Join(ds, "`, `")))
	}
	if len(m) > 0 {
		items = append(items, "**Machine** "+orUnknown(machineLine(m)))
	}
	var threads []string
	if v, ok := m["threads"]; ok {
		threads = append(threads, fmt.Sprintf("%v per run", v))
	} else if ts := distinct(recs, func(r grid.Record) string {
		if r.Threads == 0 {
			return ""
		}
		return fmt.Sprint(r.Threads)
	}); len(ts) > 0 {
		threads = append(threads, strings.Join(ts, ", ")+" per run")
	}
	if v, ok := m["jobs"]; ok {
		threads = append(threads, fmt.Sprintf("%v runs at once", v))
	}
	if b := distinct(recs, func(r grid.Record) string { return r.Backend }); len(b) > 0 {
		threads = append(threads, "GEMM backend "+strings.Join(b, ", "))
	}
	if len(threads) > 0 {
		items = append(items, "**Threads** "+strings.Join(threads, "; "))
	}
	have := map[int]bool{}
	for _, r := range recs {
		have[r.Seed] = true
	}
	got := make([]int, 0, len(have))
	for s := range have {
		got = append(got, s)
	}
	slices.Sort(got)
	seedLine := "**Seeds** " + ints(got) + " in the records"
	if in.seeds != nil {
		seedLine = "**Seeds** " + ints(in.seeds) + " (grid.json); " + ints(got) + " in the records"
	}
	items = append(items, seedLine)
	var doms []string
	for _, t := range in.sum.Tables {
		doms = append(doms, trainLabel(t))
	}
	items = append(items, "**Training domains** "+strings.Join(doms, ", "))
	switch {
	case len(in.expected) == 0 && !in.hasGrid:
		items = append(items, fmt.Sprintf("**Runs** %d records (no grid.json: the number of runs expected is unknown)", len(recs)))
	case len(in.expected) == 0:
		items = append(items, fmt.Sprintf("**Runs** %d records (grid.json lists no seeds: the number of runs expected is unknown)", len(recs)))
	case len(in.missing) > 0:
		items = append(items, fmt.Sprintf("**Runs** **partial: %d of %d runs** (%d rows × %d training domains × %d seeds)",
			len(in.expected)-len(in.missing), len(in.expected), len(g.Rows), max(1, len(g.Domains)), len(in.seeds)))
	default:
		items = append(items, fmt.Sprintf("**Runs** all %d done (%d rows × %d training domains × %d seeds)",
			len(in.expected), len(g.Rows), max(1, len(g.Domains)), len(in.seeds)))
	}
	var ev []string
	if e := g.Eval; e.MaxExamples > 0 {
		ev = append(ev, fmt.Sprintf("at most %d examples per domain", e.MaxExamples))
	}
	if e := g.Eval; e.MaxTokens > 0 {
		ev = append(ev, fmt.Sprintf("at most %d tokens per domain", e.MaxTokens))
	}
	if g.Eval.Sharpness {
		ev = append(ev, fmt.Sprintf("ε-sharpness on %d examples", g.Eval.SharpExamples))
	}
	if g.Eval.CKA {
		ev = append(ev, fmt.Sprintf("CKA on %d examples", g.Eval.CKAExamples))
	}
	if len(g.Checkpoints) > 0 {
		var fs []string
		for _, c := range g.Checkpoints {
			fs = append(fs, fmt.Sprintf("%.2f", c))
		}
		ev = append(ev, "base-row checkpoints at "+strings.Join(fs, ", ")+" of the steps")
	}
	if len(ev) > 0 {
		items = append(items, "**Evaluation** "+strings.Join(ev, "; "))
	}
	if len(g.Flags) > 0 {
		items = append(items, "**Grid flags** "+flagText(g.Flags))
	}
	var train float64
	skipped := 0
	for _, r := range recs {
		train += r.TrainSeconds
		skipped += r.Skipped
	}
	items = append(items, fmt.Sprintf("**Training time** %.1f h over all runs; %d steps skipped for non-finite values", train/3600, skipped))
	d.list(items...)
	f := in.file
	switch {
	case len(f.Commands) > 1:
		d.p("The commands that wrote this directory, in order (the last one ran most recently):")
		d.code(strings.Join(collapseRepeats(f.Commands), "\n"))
	case f.Command != "":
		d.p("The command that ran this grid:")
		d.code(f.Command)
	}
}

// collapseRepeats writes a command that ran several times in a row (a grid
// restarted after an interruption resumes with the same command) once, with
// the count as a shell comment.
func collapseRepeats(cmds []string) []string {
	var out []string
	for i := 0; i < len(cmds); {
		j := i + 1
		for j < len(cmds) && cmds[j] == cmds[i] {
			j++
		}
		line := cmds[i]
		if n := j - i; n > 1 {
			line += fmt.Sprintf("  # %d times in a row: each start resumed the grid", n)
		}
		out = append(out, line)
		i = j
	}
	return out
}

func runsSection(d *doc, in *input) {
	d.p("%d run records in runs/; each record holds the command that reruns it alone.", len(in.recs))
	if len(in.missing) > 0 {
		var ids []string
		for _, r := range in.missing {
			ids = append(ids, "`"+r.ID()+"`")
		}
		const show = 40
		more := ""
		if len(ids) > show {
			more = fmt.Sprintf(" … and %d more", len(ids)-show)
			ids = ids[:show]
		}
		d.p("Missing (%d): %s%s.", len(in.missing), strings.Join(ids, ", "), more)
	}
	var slow []string
	for _, r := range in.recs {
		if r.Skipped > 0 {
			slow = append(slow, fmt.Sprintf("`%s` skipped %d steps", grid.Run{Row: grid.Row{Name: r.Row}, Domain: r.Domain, Seed: r.Seed}.ID(), r.Skipped))
		}
	}
	if len(slow) > 0 {
		d.p("Runs with skipped steps: %s.", strings.Join(slow, "; "))
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func ints(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ", ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
