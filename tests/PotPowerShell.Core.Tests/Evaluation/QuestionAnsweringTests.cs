using Google.Protobuf;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// SQuAD question answering as Accuracy Checker evaluates it: WordPiece tokenization, the squad converter's windows,
/// answer extraction, f1 and exact_match. Every expected value is worked out by hand in the comments.
/// </summary>
public class QuestionAnsweringTests
{
    /// <summary>Ids are line numbers.</summary>
    private static readonly string[] Vocabulary =
    {
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "quick", "brown", "fox", "jump", "##ed", "over", "lazy", "dog", ".", "who", "?", "what", "was",
        "caf", "##e",
    };

    private const string Context = "The quick brown fox jumped over the lazy dog.";

    private static WordPieceTokenizer Tokenizer(bool lowerCase = true) => new(Vocabulary, lowerCase);

    private static void WriteSquad(TempFolder tmp, params (string Id, string Question, string[] Answers)[] questions)
    {
        var qas = string.Join(",", questions.Select(q =>
            $"{{\"id\": \"{q.Id}\", \"question\": \"{q.Question}\", \"answers\": [{string.Join(",", q.Answers.Select(a => $"{{\"text\": \"{a}\", \"answer_start\": 0}}"))}]}}"));
        File.WriteAllText(tmp.File("dev.json"), $"{{\"version\": \"1.1\", \"data\": [{{\"title\": \"t\", \"paragraphs\": [{{\"context\": \"{Context}\", \"qas\": [{qas}]}}]}}]}}");
        File.WriteAllLines(tmp.File("vocab.txt"), Vocabulary);
    }

    [Fact]
    public void WordPiece_splits_words_into_the_longest_vocabulary_entries()
    {
        var lower = Tokenizer();
        Assert.Equal(new[] { "the", "quick", "fox", "jump", "##ed", "." }, lower.Tokenize("The quick fox jumped."));
        // Lower case strips accents; a part the vocabulary lacks makes the whole word [UNK]; special tokens stay whole.
        Assert.Equal(new[] { "caf", "##e", "[UNK]", "who", "[SEP]" }, lower.Tokenize("Café dogx who [SEP]"));
        // Without lower case "The" is not "the".
        Assert.Equal(new[] { "[UNK]", "fox" }, Tokenizer(lowerCase: false).Tokenize("The fox"));
        Assert.Equal(new[] { "[UNK]" }, lower.Tokenize(new string('a', 101)));
        // The basic tokenizer: punctuation split off, CJK ideographs apart, control characters dropped.
        Assert.Equal(new[] { "a", ",", "b", "中", "文", "cd" }, WordPieceTokenizer.Basic("a,b中文c\u0007d", lowerCase: true));
        Assert.Equal("VocabularyInvalid", Assert.Throws<PotException>(() => new WordPieceTokenizer(new[] { "[PAD]", "[UNK]", "[SEP]" }, true)).ErrorId);
    }

    [Fact]
    public void A_long_context_is_split_into_windows_every_doc_stride_tokens()
    {
        using var tmp = new TempFolder();
        WriteSquad(tmp, ("q1", "Who jumped?", new[] { "the quick brown fox" }));
        // Question: who jump ##ed ? (4 tokens), so a window of 12 holds 12 - 4 - 3 = 5 context tokens. Context tokens:
        // the quick brown fox jump ##ed over the lazy dog . (11; words 0 1 2 3 4 4 5 6 7 8 8): windows at 0 (5 tokens),
        // 4 (5) and 8 (the last 3).
        var file = SquadFile.Read(tmp.File("dev.json"), Tokenizer(), new SquadOptions(MaxSeqLength: 12, DocStride: 4, LowerCase: true));
        Assert.Equal(3, file.Count);
        var first = file.Get(0);
        Assert.Equal(new long[] { 2, 15, 9, 10, 16, 3, 5, 6, 7, 8, 9, 3 }, (long[])first.Inputs["input_ids"].Data);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1 }, (long[])first.Inputs["segment_ids"].Data);
        Assert.Equal(new long[] { 1, 12 }, first.Inputs["input_ids"].Shape);
        var last = file.Get(2);
        Assert.Equal(new long[] { 2, 15, 9, 10, 16, 3, 12, 13, 14, 3, 0, 0 }, (long[])last.Inputs["input_ids"].Data);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0 }, (long[])last.Inputs["input_mask"].Data);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0 }, (long[])last.Inputs["token_type_ids"].Data);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i), (long[])last.Inputs["position_ids"].Data);
        var window = (QuestionWindow)last.Annotation!;
        Assert.Equal(10, window.Tokens.Count); // up to the padding
        Assert.Equal(new Dictionary<int, int> { [6] = 7, [7] = 8, [8] = 8 }, window.TokenToWord);
        // A token's best window has the most context on both sides (the smaller side, plus 0.01 of the window's
        // length; the first of equals). Token 4 (jump): window 0 min(4, 0) + 0.05, window 1 min(0, 4) + 0.05: window 0.
        // Token 8 (lazy): window 1 min(4, 0) + 0.05 against window 2 min(0, 2) + 0.03: window 1.
        Assert.Equal(new[] { 6, 7, 8, 9, 10 }, ((QuestionWindow)first.Annotation!).MaxContext.Order());
        Assert.Equal(new[] { 7, 8, 9, 10 }, ((QuestionWindow)file.Get(1).Annotation!).MaxContext.Order());
        Assert.Equal(new[] { 7, 8 }, window.MaxContext.Order());
        // A question that leaves no room is refused, naming it.
        var e = Assert.Throws<PotException>(() => SquadFile.Read(tmp.File("dev.json"), Tokenizer(), new SquadOptions(MaxSeqLength: 7, LowerCase: true)));
        Assert.Equal("SquadWindowTooShort", e.ErrorId);
        Assert.Contains("'q1'", e.Message);
    }

    private static QuestionWindow FirstWindow(TempFolder tmp)
    {
        WriteSquad(tmp, ("q1", "Who jumped?", new[] { "x" }));
        return (QuestionWindow)SquadFile.Read(tmp.File("dev.json"), Tokenizer(), new SquadOptions(MaxSeqLength: 12, DocStride: 4, LowerCase: true)).Get(0).Annotation!;
    }

    [Fact]
    public void The_answer_is_the_best_scoring_span_within_the_limits_mapped_back_onto_the_words()
    {
        using var tmp = new TempFolder();
        var window = FirstWindow(tmp); // [CLS] who jump ##ed ? [SEP] the quick brown fox jump [SEP]
        var starts = new float[12];
        var ends = new float[12];
        starts[7] = 3; starts[8] = 2.5f; // quick, brown
        ends[9] = 3; ends[10] = 2; // fox, jump
        // quick..fox scores 6.
        Assert.Equal("quick brown fox", QuestionAnsweringAdapter.Answer(starts, ends, window, 20, 30));
        // At most 2 tokens: brown..fox (5.5) beats quick + a 0 end (3).
        Assert.Equal("brown fox", QuestionAnsweringAdapter.Answer(starts, ends, window, 20, 2));
        // The single best start and end make a span of 3 tokens: nothing is left.
        Assert.Equal("", QuestionAnsweringAdapter.Answer(starts, ends, window, 1, 2));
        // Below the no-answer threshold (SQuAD 2.0): no answer.
        Assert.Equal("", QuestionAnsweringAdapter.Answer(starts, ends, window, 20, 30, noAnswer: 6.5));
        // Ends before the context ([SEP] at 5) or a start that is not this window's best for its token are not taken;
        // the first of equal scores wins: start 6 (the) with end 6.
        starts = new float[12];
        ends = new float[12];
        starts[5] = 9;
        ends[5] = 9;
        Assert.Equal("The", QuestionAnsweringAdapter.Answer(starts, ends, window, 20, 30));
        // The words give the text back as written: case and punctuation.
        Assert.Equal("dog", QuestionAnsweringAdapter.FinalText("dog", "dog.", lowerCase: true));
        Assert.Equal("The quick", QuestionAnsweringAdapter.FinalText("the quick", "The quick", lowerCase: true));
        // A piece that is not in the words gives them whole.
        Assert.Equal("jumped", QuestionAnsweringAdapter.FinalText("##ed", "jumped", lowerCase: true));
    }

    [Fact]
    public void F1_and_exact_match_compare_normalized_answers_and_take_each_questions_best_window()
    {
        Assert.Equal("quick brown fox", QuestionAnsweringRunner.Normalize("The Quick,  brown fox!"));
        // Gold quick brown fox, predicted brown fox jumped: 2 shared, precision 2/3, recall 2/3.
        Assert.Equal(2.0 / 3, QuestionAnsweringRunner.F1("the quick brown fox", "brown fox jumped"), 12);
        Assert.Equal(1.0, QuestionAnsweringRunner.Score("A fox.", new[] { "zebra", "fox" }, f1: false));
        // References that normalize to nothing leave an empty answer as the only right one.
        Assert.Equal((1.0, 0.0), (QuestionAnsweringRunner.Score("", new[] { "", "a" }, true), QuestionAnsweringRunner.Score("fox", new[] { "the" }, true)));
        var aggregate = new QuestionAggregate();
        aggregate.Add("q1", 0.2);
        aggregate.Add("q1", 0.8);
        aggregate.Add("q2", 0.5);
        Assert.Equal((0.8 + 0.5) / 2, aggregate.Result(), 12);
        // Resampled: q1 drawn twice (its first window), q2 once.
        Assert.Equal((2 * 0.8 + 0.5) / 3, aggregate.Result(new[] { 2, 0, 1 }), 12);
    }

    /// <summary>
    /// The model scores quick as a start (3) and fox as an end (3). q1 (who jumped?) has 3 windows; its first answers
    /// "quick brown fox": F1 1 and exact match against "the quick brown fox". q2 (what was lazy?) answers "quick brown
    /// fox" in its first window (0), "jumped" in its second (all logits 0: the first span whose start is that window's
    /// best, ##ed alone, which the word jumped gives back whole; 0), and "dog" in its third (0; from the word dog.):
    /// against "the lazy dog" F1 2/3 (precision 1, recall 1/2), exact match 0. Means: F1 5/6, exact match 1/2.
    /// </summary>
    private static byte[] Model(int startToken = 6)
    {
        var start = new float[Vocabulary.Length];
        var end = new float[Vocabulary.Length];
        start[startToken] = 3;
        end[8] = 3;
        return QuestionAnsweringModels.Build(start, end).ToByteArray();
    }

    [Fact]
    public void A_squad_engine_scores_a_question_answering_model()
    {
        using var tmp = new TempFolder();
        WriteSquad(tmp, ("q1", "Who jumped?", new[] { "the quick brown fox" }), ("q2", "What was lazy?", new[] { "the lazy dog" }));
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset:
              data_source: dev.json
              vocab_file: vocab.txt
              max_seq_length: 12
              doc_stride: 4
              lower_case: true
            metrics:
              - type: squad_f1
              - type: squad_exact_match
            """);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(Model(), new EvaluationRequest(), CancellationToken.None);
        Assert.Equal(6, r.Items.Count);
        Assert.Equal(5.0 / 6, r.Values["squad_f1"], 12);
        Assert.Equal(0.5, r.Values["squad_exact_match"], 12);
        // Per window: q1 1, ?, ?; q2 0, 0, 2/3.
        Assert.Equal(new[] { 0.0, 0.0, 2.0 / 3 }, r.PerItem["squad_f1"][3..], (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Against_the_fp32_models_answers_every_window_counts()
    {
        // Questions without answers (POT's annotation_free). The other model starts answers at brown: both first windows
        // answer "brown fox" where FP32 answers "quick brown fox" (F1 0.8: precision 1, recall 2/3; exact match 0); the
        // other four windows hold neither word and answer as FP32. Means over the 6 windows: F1 (2 * 0.8 + 4) / 6, exact
        // match 4 / 6.
        using var tmp = new TempFolder();
        WriteSquad(tmp, ("q1", "Who jumped?", Array.Empty<string>()), ("q2", "What was lazy?", Array.Empty<string>()));
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset: {data_source: dev.json, vocab_file: vocab.txt, max_seq_length: 12, doc_stride: 4, lower_case: true}
            metrics:
              - {type: squad_f1, reference: fp32}
              - {type: squad_exact_match, reference: fp32}
            """);
        var definition = EngineDefinition.Load(tmp.File("engine.yml"));
        Assert.All(definition.Metrics, m => Assert.False(m.IsDatasetLevel));
        using var evaluator = new Evaluator(definition, new EvaluatorOptions { ReferenceModel = Model() });
        var same = evaluator.Run(Model(), new EvaluationRequest(), CancellationToken.None);
        Assert.Equal((1.0, 1.0), (same.Values["squad_f1"], same.Values["squad_exact_match"]));
        var other = evaluator.Run(Model(startToken: 7), new EvaluationRequest(), CancellationToken.None);
        Assert.Equal((2 * 0.8 + 4) / 6, other.Values["squad_f1"], 12);
        Assert.Equal(4.0 / 6, other.Values["squad_exact_match"], 12);
        // annotation_free turns the metrics against the answers into these.
        File.WriteAllText(tmp.File("gold.yml"), "dataset: {data_source: dev.json, vocab_file: vocab.txt}\nmetrics: [{type: squad_f1}]");
        Assert.Equal(MetricReference.Fp32, Assert.Single(EngineDefinition.Load(tmp.File("gold.yml"), annotationFree: true).AnnotationFree(0).Metrics).Reference);
    }

    [Fact]
    public void An_engine_file_is_calibration_data_its_windows()
    {
        using var tmp = new TempFolder();
        WriteSquad(tmp, ("q1", "Who jumped?", new[] { "fox" }));
        File.WriteAllText(tmp.File("engine.yml"), "dataset: {data_source: dev.json, vocab_file: vocab.txt, max_seq_length: 12, doc_stride: 4, lower_case: true}\nmetrics: [{type: squad_f1}]");
        File.WriteAllBytes(tmp.File("qa.onnx"), Model());
        var data = CalibrationData.Open(tmp.File("engine.yml"), tmp.File("qa.onnx"), CancellationToken.None);
        using (data as IDisposable)
        {
            Assert.Equal(3, data.Count);
            Assert.Equal(new long[] { 2, 15, 9, 10, 16, 3, 5, 6, 7, 8, 9, 3 }, (long[])data.Get(0).Inputs["input_ids"].Data);
        }
    }

    [Fact]
    public void Accuracy_checkers_bert_configuration_reads_as_it_evaluates()
    {
        using var tmp = new TempFolder();
        WriteSquad(tmp, ("q1", "Who jumped?", new[] { "the quick brown fox" }), ("q2", "What was lazy?", new[] { "the lazy dog" }));
        // As Open Model Zoo writes it, with our model's output names and its inputs mapped by their features.
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: bert
                launchers:
                  - framework: onnx_runtime
                    adapter:
                      type: bert_question_answering
                      start_token_logits_output: start_logits
                      end_token_logits_output: end_logits
                    inputs:
                      - {name: input_ids, type: INPUT, value: input_ids}
                      - {name: attention_mask, type: INPUT, value: input_mask}
                      - {name: token_type_ids, type: INPUT, value: segment_ids}
                datasets:
                  - name: squad
                    annotation_conversion:
                      converter: squad
                      testing_file: dev.json
                      vocab_file: vocab.txt
                      max_seq_length: 12
                      doc_stride: 4
                      lower_case: true
                    reader:
                      type: annotation_features_extractor
                      features: [input_ids, input_mask, segment_ids]
                    postprocessing:
                      - {type: extract_answers_tokens, max_answer: 30, n_best_size: 20}
                    metrics:
                      - {name: F1, type: f1, reference: 0.9}
                      - {name: EM, type: exact_match, reference: 0.8}
            """);
        var definition = EngineDefinition.Load(tmp.File("ac.yml"));
        var d = Assert.Single(definition.Datasets);
        Assert.Equal((DatasetFormat.Squad, 12, 4, true), (d.Format, d.Squad!.MaxSeqLength, d.Squad.DocStride, d.Squad.LowerCase));
        Assert.Equal(("start_logits", "end_logits", 30, 20), (d.Adapter.Output, d.Adapter.EndOutput, d.Adapter.MaxAnswer, d.Adapter.NBestSize));
        Assert.Equal("input_mask", d.InputFiles["attention_mask"]);
        using var evaluator = new Evaluator(definition);
        var r = evaluator.Run(Model(), new EvaluationRequest(), CancellationToken.None);
        Assert.Equal(5.0 / 6, r.Values["F1"], 12);
        Assert.Equal(0.5, r.Values["EM"]);
    }

    [Theory]
    [InlineData("""{"data": [{"paragraphs": [{"context": "a", "qas": [7]}]}]}""", "a question that is not an object")]
    [InlineData("""{"data": [{"paragraphs": [{"context": "a", "qas": [{"id": "q", "question": "b"}]}]}]}""", "question 'q' without a 'answers' list")]
    [InlineData("""{"data": [{"paragraphs": [{"qas": []}]}]}""", "a paragraph without a 'context' text")]
    [InlineData("""{"version": "1.1"}""", "the file without a 'data' list")]
    [InlineData("""{"data": [""", "is not valid JSON")]
    [InlineData("""{"data": [{"paragraphs": [{"context": "a\ud800", "qas": []}]}]}""", "a paragraph's 'context' in bytes that are not UTF-8 text")]
    public void A_malformed_squad_file_is_refused_naming_what_is_wrong(string json, string expected)
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("bad.json"), json);
        var e = Assert.Throws<PotException>(() => SquadFile.Read(tmp.File("bad.json"), Tokenizer(), new SquadOptions()));
        Assert.Equal("AnnotationInvalid", e.ErrorId);
        Assert.Contains("bad.json", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Squad_emb_makes_contexts_and_questions_items_of_their_own()
    {
        // Its tokenization: words split at whitespace and punctuation, marks dropped after NFD, then the longest pieces.
        Assert.Equal(new[] { "caf", "##e", "[UNK]", "jump", "##ed", "[UNK]" }, Tokenizer().EmbeddingIds("Café, jumped!").Select(Tokenizer().Token));
        using var tmp = new TempFolder();
        WriteEmbeddingSquad(tmp);
        var file = SquadFile.Read(tmp.File("emb.json"), Tokenizer(), new SquadOptions(MaxSeqLength: 6, MaxQueryLength: 4, LowerCase: true, Embeddings: true));
        // Contexts first (cut to 6 - 2 tokens), then the questions (cut to 4 - 2), each padded with [PAD]'s id.
        Assert.Equal(5, file.Count);
        Assert.Equal(new long[] { 2, 5, 6, 7, 8, 3 }, (long[])file.Get(0).Inputs["input_ids"].Data);
        Assert.Equal(new long[] { 2, 12, 13, 14, 3, 0 }, (long[])file.Get(1).Inputs["input_ids"].Data);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 0 }, (long[])file.Get(1).Inputs["input_mask"].Data);
        Assert.Equal(new long[] { 2, 5, 8, 3 }, (long[])file.Get(2).Inputs["input_ids"].Data);
        Assert.Equal(new int?[] { null, null, 0, 1, 1 }, Enumerable.Range(0, 5).Select(i => ((QuestionEmbedding)file.Get(i).Annotation!).Context));
    }

    /// <summary>Two paragraphs: "The quick brown fox ..." asked "the fox?", and "lazy dog." asked "lazy?" and "quick fox".</summary>
    private static void WriteEmbeddingSquad(TempFolder tmp)
    {
        File.WriteAllText(tmp.File("emb.json"), $$"""
            {"data": [{"paragraphs": [
              {"context": "{{Context}}", "qas": [{"id": "a", "question": "the fox?", "answers": []}]},
              {"context": "lazy dog.", "qas": [{"id": "b", "question": "lazy?", "answers": []}, {"id": "c", "question": "quick fox", "answers": []}]}]}]}
            """);
        File.WriteAllLines(tmp.File("vocab.txt"), Vocabulary);
    }

    [Fact]
    public void Qa_embedding_accuracy_finds_each_questions_context_among_the_nearest()
    {
        // A model whose embedding is the one-hot vector of an item's first token: question a starts like its context
        // (the), b like its (lazy); c (quick) is as far from both contexts, the first of which is not its own: top 1
        // finds 2 of 3, top 2 all.
        using var tmp = new TempFolder();
        WriteEmbeddingSquad(tmp);
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset: {data_source: emb.json, vocab_file: vocab.txt, squad_layout: embeddings, max_seq_length: 16, max_query_length: 8, lower_case: true}
            adapter: {type: reid, normalize: false, output: embedding}
            metrics:
              - {type: qa_embedding_accuracy, top_k: 1}
              - {name: top2, type: qa_embedding_accuracy, top_k: 2}
            """);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(FirstTokenModel(Vocabulary.Length), new EvaluationRequest(), CancellationToken.None);
        Assert.Equal((2.0 / 3, 1.0), (r.Values["qa_embedding_accuracy"], r.Values["top2"]));
        // By hand: distances and ties in item order.
        var spec = new MetricSpec("m", MetricType.QaEmbeddingAccuracy, Results.MetricDirection.HigherBetter, new[] { 0 }, "m", 1);
        var aggregate = new QuestionEmbeddingAggregate(spec);
        aggregate.Add(0, new QuestionEmbedding(null), new float[] { 0, 0 });
        aggregate.Add(1, new QuestionEmbedding(null), new float[] { 3, 0 });
        aggregate.Add(2, new QuestionEmbedding(0), new float[] { 1, 0 });   // nearest its own: hit
        aggregate.Add(3, new QuestionEmbedding(0), new float[] { 2, 0 });   // nearer the other: miss
        aggregate.Add(4, new QuestionEmbedding(0), new float[] { 1.5f, 0 }); // a tie, its own first: hit
        aggregate.Add(5, new QuestionEmbedding(1), null);                    // not finite: miss
        Assert.Equal(2.0 / 4, aggregate.Result(), 12);
    }

    /// <summary>A model whose embedding is the one-hot vector of an item's first token (after [CLS]).</summary>
    private static byte[] FirstTokenModel(int vocabulary)
    {
        var g = new GraphBuilder("first_token");
        var ids = g.Input("input_ids", global::Onnx.TensorProto.Types.DataType.Int64, "batch", "seq");
        g.Input("attention_mask", global::Onnx.TensorProto.Types.DataType.Int64, "batch", "seq");
        g.Input("token_type_ids", global::Onnx.TensorProto.Types.DataType.Int64, "batch", "seq");
        var first = g.Node("Slice", new[] { ids, g.Initializer("one", new long[] { 1 }, 1), g.Initializer("two", new long[] { 2 }, 1), g.Initializer("axis", new long[] { 1 }, 1) }, "first");
        var rows = g.Node("Gather", new[] { g.Initializer("one_hot", Enumerable.Range(0, vocabulary * vocabulary).Select(i => i / vocabulary == i % vocabulary ? 1f : 0f).ToArray(), vocabulary, vocabulary), first }, "rows");
        g.Node("Reshape", new[] { rows, g.Initializer("shape", new long[] { -1, vocabulary }, 2) }, "embedding_node");
        var model = g.Build();
        model.Graph.Node.Single(n => n.Name == "embedding_node").Output[0] = "embedding";
        model.Graph.Output.Add(GraphBuilder.ValueInfo("embedding", global::Onnx.TensorProto.Types.DataType.Float, new object[] { "batch", vocabulary }));
        return model.ToByteArray();
    }

    [Fact]
    public void Contexts_and_questions_of_two_lengths_run_in_batches_split_where_the_length_changes()
    {
        // 40 contexts of 16 tokens, then 40 questions of 8: batches of 32 meet both at items 32 to 63, which ONNX
        // Runtime refuses; the evaluation goes on in batches split there, in the same order, without a warning. Each
        // question starts with its context's word: every one found first.
        using var tmp = new TempFolder();
        var words = Enumerable.Range(0, 40).Select(i => $"w{i}").ToArray();
        File.WriteAllLines(tmp.File("vocab.txt"), new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]" }.Concat(words));
        File.WriteAllText(tmp.File("emb.json"), "{\"data\": [{\"paragraphs\": [" + string.Join(",", words.Select((w, i) =>
            $"{{\"context\": \"{w} {words[(i + 1) % 40]}\", \"qas\": [{{\"id\": \"{i}\", \"question\": \"{w}\", \"answers\": []}}]}}")) + "]}]}");
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset: {data_source: emb.json, vocab_file: vocab.txt, squad_layout: embeddings, max_seq_length: 16, max_query_length: 8}
            adapter: {type: reid, normalize: false, output: embedding}
            batch_size: 32
            metrics: [{type: qa_embedding_accuracy, top_k: 1}]
            """);
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(FirstTokenModel(44), new EvaluationRequest(), CancellationToken.None);
        Assert.Equal(80, r.Items.Count);
        Assert.Equal(1.0, r.Values["qa_embedding_accuracy"]);
        Assert.False(r.BatchFallback);
        // The next evaluation reads the items' lengths first and batches them apart from the start.
        Assert.Equal(1.0, evaluator.Run(FirstTokenModel(44), new EvaluationRequest(), CancellationToken.None).Values["qa_embedding_accuracy"]);
    }

    [Fact]
    public void Accuracy_checkers_squad_emb_configuration_reads_as_it_evaluates()
    {
        using var tmp = new TempFolder();
        WriteEmbeddingSquad(tmp);
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: bert-small-squad-emb
                launchers:
                  - framework: onnx_runtime
                    adapter: {type: bert_question_answering_embedding, embedding: embedding}
                    inputs:
                      - {name: input_ids, type: INPUT, value: input_ids}
                      - {name: attention_mask, type: INPUT, value: input_mask}
                datasets:
                  - name: squad_emb
                    annotation_conversion: {converter: squad_emb, testing_file: emb.json, vocab_file: vocab.txt, max_seq_length: 16, max_query_length: 8, lower_case: true}
                    reader: {type: annotation_features_extractor, features: [input_ids, input_mask, segment_ids, position_ids]}
                    metrics:
                      - {name: top_5_acc, type: qa_embedding_accuracy, top_k: 5, reference: 0.876}
            """);
        var d = Assert.Single(EngineDefinition.Load(tmp.File("ac.yml")).Datasets);
        Assert.Equal((true, 16, 8), (d.Squad!.Embeddings, d.Squad.MaxSeqLength, d.Squad.MaxQueryLength));
        Assert.Equal((AdapterType.Reid, "embedding", false), (d.Adapter.Type, d.Adapter.Output, d.Adapter.NormalizeEmbeddings));
        var metric = Assert.Single(EngineDefinition.Load(tmp.File("ac.yml")).Metrics);
        Assert.Equal(("top_5_acc", MetricType.QaEmbeddingAccuracy, 5), (metric.Name, metric.Type, metric.TopK));
    }

    [Fact]
    public void Engine_mistakes_are_named()
    {
        using var tmp = new TempFolder();
        WriteSquad(tmp, ("q1", "Who jumped?", new[] { "fox" }));
        string Problems(string yaml)
        {
            File.WriteAllText(tmp.File("engine.yml"), yaml);
            return Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml"))).Message;
        }
        Assert.Contains("vocab_file", Problems("dataset: {data_source: dev.json}\nmetrics: [{type: squad_f1}]"));
        Assert.Contains("use squad_f1, squad_exact_match or qa_embedding_accuracy", Problems("dataset: {data_source: dev.json, vocab_file: vocab.txt}\nmetrics: [{type: accuracy}]"));
        Assert.Contains("use adapter type question_answering", Problems("dataset: {data_source: dev.json, format: squad, vocab_file: vocab.txt}\nadapter: classification\nmetrics: [{type: squad_f1}]"));
        Assert.Contains("applies to SQuAD or CoNLL data", Problems("dataset: {data_source: dev.json, vocab_file: vocab.txt, format: npy, max_seq_length: 12}\nmetrics: [{type: squad_f1}]"));
        Assert.Contains("give dataset 'dataset0' squad_layout: embeddings", Problems("dataset: {data_source: dev.json, vocab_file: vocab.txt}\nadapter: {type: reid, normalize: false}\nmetrics: [{type: qa_embedding_accuracy}]"));
        Assert.Contains("use qa_embedding_accuracy", Problems("dataset: {data_source: dev.json, vocab_file: vocab.txt, squad_layout: embeddings}\nmetrics: [{type: squad_f1}]"));
        Assert.Contains("must name one of the items' arrays", Problems("dataset: {data_source: dev.json, vocab_file: vocab.txt, inputs: {ids: tokens}}\nmetrics: [{type: squad_f1}]"));
    }
}
