using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// Named entity recognition as Accuracy Checker evaluates it: the conll_ner converter's layout of a CoNLL-2003 file,
/// the bert_ner adapter, and ner_accuracy, ner_precision, ner_recall and ner_f_score. Every expected value is worked out
/// by hand in the comments.
/// </summary>
public class NamedEntityTests
{
    /// <summary>Ids are line numbers.</summary>
    private static readonly string[] Vocabulary =
    {
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "eu", "rejects", "german", "call", "to", "boycott", "british", "lamb", ".", "peter", "black", "##burn",
    };

    /// <summary>Two sentences: nine words, then Peter Blackburn (three tokens).</summary>
    private const string Conll = """
        -DOCSTART- -X- -X- O

        EU NNP B-NP B-ORG
        rejects VBZ B-VP O
        German JJ B-NP B-MISC
        call NN I-NP O
        to TO B-VP O
        boycott VB I-VP O
        British JJ B-NP B-MISC
        lamb NN I-NP O
        . . O O

        Peter NNP B-NP B-PER
        Blackburn NNP I-NP I-PER

        """;

    /// <summary>
    /// The class of each token id (O 0, B-MISC 1, B-PER 3, I-PER 4, B-ORG 5, B-LOC 7): eu B-ORG, german, british and lamb
    /// B-MISC, call B-LOC, peter and black B-PER, ##burn I-PER, the rest O.
    /// </summary>
    private static readonly int[] Classes = { 0, 0, 0, 0, 0, 5, 0, 1, 7, 0, 0, 1, 1, 0, 3, 3, 4 };

    private static WordPieceTokenizer Tokenizer() => new(Vocabulary, lowerCase: true);

    private static void Write(TempFolder tmp, string conll = Conll)
    {
        File.WriteAllText(tmp.File("valid.txt"), conll.Replace("\r\n", "\n"));
        File.WriteAllLines(tmp.File("vocab.txt"), Vocabulary);
    }

    private static byte[] Model(int[]? classes = null) => TokenClassificationModels.OneHot(classes ?? Classes, 9);

    [Fact]
    public void Sentences_are_laid_out_as_the_conll_ner_converter_lays_them_out()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        var file = ConllFile.Read(tmp.File("valid.txt"), Tokenizer(), new ConllOptions(MaxLength: 10));
        Assert.Equal(2, file.Count);
        // Peter Blackburn: [CLS] peter black ##burn [SEP], padded with 0 to 10. Labels: [CLS] -1, the two words' labels
        // (B-PER 3, I-PER 4) at the positions of the first two tokens, [SEP]'s -1 after them, 0 to the end. Valid: the
        // tokens that start a word; label mask: the positions of the words' labels.
        var item = file.Get(1);
        Assert.Equal(new long[] { 2, 14, 15, 16, 3, 0, 0, 0, 0, 0 }, (long[])item.Inputs["input_ids"].Data);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 0, 0, 0, 0, 0 }, (long[])item.Inputs["attention_mask"].Data);
        Assert.Equal(new long[10], (long[])item.Inputs["token_type_ids"].Data);
        var labels = (TokenLabels)item.Annotation!;
        Assert.Equal(new[] { -1, 3, 4, -1, 0, 0, 0, 0, 0, 0 }, labels.LabelIds);
        Assert.Equal(new[] { false, true, true, false, false, false, false, false, false, false }, labels.Valid);
        Assert.Equal(new[] { false, true, true, false, false, false, false, false, false, false }, labels.LabelMask);
        // The first sentence's nine tokens reach max_len - 1, so eight are kept, and eight word labels, [SEP]'s -1 last.
        Assert.Equal(new[] { -1, 5, 0, 1, 0, 0, 0, 1, 0, -1 }, ((TokenLabels)file.Get(0).Annotation!).LabelIds);
        Assert.Equal(new long[] { 2, 5, 6, 7, 8, 9, 10, 11, 12, 3 }, (long[])file.Get(0).Inputs["input_ids"].Data);
    }

    [Fact]
    public void A_long_sentence_is_cut_keeping_its_words_labels_as_the_converter_does()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        // max_len 4: three tokens reach max_len - 1, so two are kept (peter black), and two word labels.
        var cut = (TokenLabels)ConllFile.Read(tmp.File("valid.txt"), Tokenizer(), new ConllOptions(MaxLength: 4)).Get(1).Annotation!;
        Assert.Equal(new[] { -1, 3, 4, -1 }, cut.LabelIds);
        Assert.Equal(new[] { false, true, true, false }, cut.Valid);
        // max_len 3: one token (peter) and one word label.
        var file = ConllFile.Read(tmp.File("valid.txt"), Tokenizer(), new ConllOptions(MaxLength: 3, Padding: false));
        Assert.Equal(new long[] { 2, 14, 3 }, (long[])file.Get(1).Inputs["input_ids"].Data);
        Assert.Equal(new[] { -1, 3, -1 }, ((TokenLabels)file.Get(1).Annotation!).LabelIds);
    }

    [Fact]
    public void Special_token_labels_number_the_labels_from_1_and_label_cls_and_sep()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        // Labels O 1 ... I-LOC 9, [CLS] 10, [SEP] 11; [CLS] and [SEP] are valid and labelled.
        var labels = (TokenLabels)ConllFile.Read(tmp.File("valid.txt"), Tokenizer(), new ConllOptions(MaxLength: 8, SpecialTokenLabels: true)).Get(1).Annotation!;
        Assert.Equal(new[] { 10, 4, 5, 11, 0, 0, 0, 0 }, labels.LabelIds);
        Assert.Equal(new[] { true, true, true, false, true, false, false, false }, labels.Valid);
        Assert.Equal(new[] { true, true, true, true, false, false, false, false }, labels.LabelMask);
        // Aligned: gold [CLS] B-PER I-PER [SEP] against the classes at [CLS], peter, black and [SEP]; [CLS] first, so
        // from the second pair; [SEP] is id 11, the number of labels, so the sentence ends there.
        var sentence = NerRunner.Align(labels, new[] { 0, 4, 4, 5, 0, 0, 0, 0 }, null, allTokens: false);
        Assert.Equal(new[] { 4, 5 }, sentence.Gold);
        Assert.Equal(new[] { 4, 4 }, sentence.Predicted);
    }

    [Fact]
    public void Chunks_follow_seqevals_rules()
    {
        // B-PER I-PER | O | I-LOC I-LOC (an I after O starts one) | B-LOC E-LOC | S-ORG | I-ORG (after S, a new one).
        Assert.Equal(new[] { ("PER", 0, 1), ("LOC", 3, 4), ("LOC", 5, 6), ("ORG", 7, 7), ("ORG", 8, 8) },
            NerChunks.Of(new[] { "B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC", "E-LOC", "S-ORG", "I-ORG" }));
        // A class outside the labels is '[unk]': tag '[', type 'unk]', one chunk while it lasts.
        Assert.Equal(new[] { ("unk]", 0, 1) }, NerChunks.Of(new[] { "[unk]", "[unk]", "O" }));
        // A type change ends a chunk even inside I tags.
        Assert.Equal(new[] { ("PER", 0, 0), ("LOC", 1, 1) }, NerChunks.Of(new[] { "B-PER", "I-LOC" }));
    }

    [Fact]
    public void A_conll_engine_scores_a_token_classification_model()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset:
              data_source: valid.txt
              format: conll
              vocab_file: vocab.txt
              max_seq_length: 12
              lower_case: true
            metrics:
              - type: ner_accuracy
              - type: ner_precision
              - type: ner_recall
              - type: ner_f_score
              - {name: all_tokens, type: ner_accuracy, include_all_tokens: true}
            """);
        var definition = EngineDefinition.Load(tmp.File("engine.yml"));
        Assert.Equal(AdapterType.TokenClassification, definition.Datasets[0].Adapter.Type);
        using var evaluator = new Evaluator(definition);
        var r = evaluator.Run(Model(), new EvaluationRequest(), CancellationToken.None);
        // Words: gold B-ORG O B-MISC O O O B-MISC O O, predicted B-ORG O B-MISC B-LOC O O B-MISC B-MISC O (7 of 9);
        // B-PER I-PER predicted B-PER B-PER (1 of 2): 8 of 11.
        Assert.Equal(8.0 / 11, r.Values["ner_accuracy"], 12);
        Assert.Equal(new[] { 7.0 / 9, 0.5 }, r.PerItem["ner_accuracy"], (a, b) => Math.Abs(a - b) < 1e-12);
        // The ranking signal, each word's label margin (one-hot scores: 1 when right, -1 when wrong), averaged: (7 - 2) / 9 and (1 - 1) / 2.
        Assert.Equal(new[] { 5.0 / 9, 0 }, r.Signals["ner_f_score"], (a, b) => Math.Abs(a - b) < 1e-12);
        // Chunks: ORG predicted 1, right 1, labelled 1; MISC 3, 2, 2 (British and lamb are two B-MISC); LOC 1, 0, 0;
        // PER 2, 0, 1. Precision (1 + 2/3 + 0 + 0) / 4, recall (1 + 1 + 0 + 0) / 4, F1 (1 + 4/5 + 0 + 0) / 4.
        Assert.Equal(5.0 / 12, r.Values["ner_precision"], 12);
        Assert.Equal(0.5, r.Values["ner_recall"], 12);
        Assert.Equal(0.45, r.Values["ner_f_score"], 12);
        // Every position after [CLS]: padding is labelled 0 (O) and counts. First sentence positions 1-11 less [SEP]'s
        // -1: call and lamb wrong, 8 of 10; second: black wrong, ##burn's -1 skipped, [SEP] and 7 pads right, 9 of 10.
        Assert.Equal(17.0 / 20, r.Values["all_tokens"], 12);
    }

    [Fact]
    public void Unpadded_sentences_give_the_same_values_and_say_why_they_run_one_by_one()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        File.WriteAllText(tmp.File("engine.yml"), "dataset: {data_source: valid.txt, format: conll, vocab_file: vocab.txt, lower_case: true, padding: false}\nmetrics: [{type: ner_accuracy}, {type: ner_f_score}]");
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(Model(), new EvaluationRequest(), CancellationToken.None);
        // The values of the padded engine above: padding is no word.
        Assert.Equal(8.0 / 11, r.Values["ner_accuracy"], 12);
        Assert.Equal(0.45, r.Values["ner_f_score"], 12);
        Assert.Contains("padding: false", r.BatchFallbackReason);
    }

    [Fact]
    public void The_bootstrap_draws_sentences()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        var file = ConllFile.Read(tmp.File("valid.txt"), Tokenizer(), new ConllOptions(MaxLength: 12, LowerCase: true));
        var predicted = new[] { new[] { 0, 5, 0, 1, 7, 0, 0, 1, 1, 0, 0, 0 }, new[] { 0, 3, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0 } };
        var sentences = Enumerable.Range(0, 2).Select(i => NerRunner.Align((TokenLabels)file.Get(i).Annotation!, predicted[i], null, false)).ToList();
        // The first twice, the second not: 14 of 18; F1 over ORG, MISC and LOC only, (1 + 4/5 + 0) / 3.
        Assert.Equal(14.0 / 18, NerAggregate.Value(MetricType.NerAccuracy, sentences, new[] { 2, 0 }), 12);
        Assert.Equal(0.6, NerAggregate.Value(MetricType.NerFScore, sentences, new[] { 2, 0 }), 12);
    }

    [Fact]
    public void Against_the_fp32_models_classes_the_labels_are_its_own()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        File.WriteAllText(tmp.File("engine.yml"), "dataset: {data_source: valid.txt, format: conll, vocab_file: vocab.txt, lower_case: true}\nmetrics: [{type: ner_accuracy, reference: fp32}]");
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")), new EvaluatorOptions { ReferenceModel = Model() });
        Assert.Equal(1.0, evaluator.Run(Model(), new EvaluationRequest(), CancellationToken.None).Values["ner_accuracy"]);
        // call O instead of B-LOC, black I-PER instead of B-PER: 8 of 9 and 1 of 2 words as FP32's.
        var other = (int[])Classes.Clone();
        other[8] = 0;
        other[15] = 4;
        Assert.Equal(9.0 / 11, evaluator.Run(Model(other), new EvaluationRequest(), CancellationToken.None).Values["ner_accuracy"], 12);
        // annotation_free turns the metrics against the labels into these.
        File.WriteAllText(tmp.File("gold.yml"), "dataset: {data_source: valid.txt, format: conll, vocab_file: vocab.txt}\nmetrics: [{type: ner_f_score}]");
        Assert.Equal(MetricReference.Fp32, Assert.Single(EngineDefinition.Load(tmp.File("gold.yml"), annotationFree: true).AnnotationFree(0).Metrics).Reference);
    }

    [Fact]
    public void Accuracy_checkers_bert_ner_configuration_reads_as_it_evaluates()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        // As Open Model Zoo writes bert-base-ner's, with our model's output and the converter's keys.
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: bert-base-ner
                launchers:
                  - framework: onnx_runtime
                    adapter: bert_ner
                    inputs:
                      - {name: input_ids, type: INPUT, value: input_ids}
                      - {name: attention_mask, type: INPUT, value: input_mask}
                      - {name: token_type_ids, type: INPUT, value: segment_ids}
                datasets:
                  - name: CONLL2003_bert_cased
                    annotation_conversion:
                      converter: conll_ner
                      annotation_file: valid.txt
                      vocab_file: vocab.txt
                      lower_case: true
                      max_len: 12
                    reader:
                      type: annotation_features_extractor
                      features: [input_ids, input_mask, segment_ids]
                    metrics:
                      - {type: ner_accuracy, reference: 0.9915}
                      - {type: ner_f_score, presenter: print_vector, reference: {mean: 0.9445}}
            """);
        var definition = EngineDefinition.Load(tmp.File("ac.yml"));
        var d = Assert.Single(definition.Datasets);
        Assert.Equal((DatasetFormat.Conll, 12, true), (d.Format, d.Conll!.MaxLength, d.Conll.LowerCase));
        Assert.Equal(AdapterType.TokenClassification, d.Adapter.Type);
        using var evaluator = new Evaluator(definition);
        var r = evaluator.Run(Model(), new EvaluationRequest(), CancellationToken.None);
        Assert.Equal(8.0 / 11, r.Values["ner_accuracy"], 12);
        Assert.Equal(0.45, r.Values["ner_f_score"], 12);
    }

    [Fact]
    public void Accuracy_checkers_label_map_key_names_the_converters_labels_only()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        string Config(string metric) => $$"""
            models:
              - name: ner
                launchers: [{framework: onnx_runtime, adapter: bert_ner}]
                datasets:
                  - name: conll
                    annotation_conversion: {converter: conll_ner, annotation_file: valid.txt, vocab_file: vocab.txt}
                    reader: {type: annotation_features_extractor, features: [input_ids, input_mask, segment_ids]}
                    metrics: [{{metric}}]
            """;
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: ner_f_score, label_map: label_map}"));
        Assert.Equal(MetricType.NerFScore, Assert.Single(EngineDefinition.Load(tmp.File("ac.yml")).Metrics).Type);
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: ner_f_score, label_map: tags}"));
        Assert.Contains("conll_ner writes them as label_map", Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("ac.yml"))).Message);
        // Another metric's label_map is a key it does not take, and no more.
        File.WriteAllText(tmp.File("ac.yml"), Config("{type: accuracy, label_map: tags}"));
        var message = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("ac.yml"))).Message;
        Assert.Contains("label_map", message);
        Assert.DoesNotContain("conll_ner writes", message);
    }

    [Fact]
    public void Other_labels_come_from_a_labels_file_or_classes()
    {
        using var tmp = new TempFolder();
        Write(tmp, "EU NNP B-NP B-X\nrejects VBZ B-VP O\n");
        File.WriteAllText(tmp.File("labels.json"), """{"labels": ["O", "B-X", "I-X"]}""");
        // eu is class 1 (B-X), rejects 0: both right, one X chunk found.
        var classes = new int[Vocabulary.Length];
        classes[5] = 1;
        foreach (var labels in new[] { "labels_file: labels.json", "classes: [O, B-X, I-X]" })
        {
            File.WriteAllText(tmp.File("engine.yml"), $"dataset: {{data_source: valid.txt, format: conll, vocab_file: vocab.txt, lower_case: true, {labels}}}\nmetrics: [{{type: ner_f_score}}]");
            using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
            Assert.Equal(1.0, evaluator.Run(TokenClassificationModels.OneHot(classes, 3), new EvaluationRequest(), CancellationToken.None).Values["ner_f_score"]);
        }
    }

    [Theory]
    [InlineData("EU NNP B-NP B-ORGX\n", "labels a word 'B-ORGX' on line 1")]
    [InlineData("rejects VBZ B-VP O\nEU NNP B-NP B-ORG \n", "labels a word '' on line 2")]
    public void A_malformed_conll_file_is_refused_naming_the_line(string conll, string expected)
    {
        using var tmp = new TempFolder();
        Write(tmp, conll);
        var e = Assert.Throws<PotException>(() => ConllFile.Read(tmp.File("valid.txt"), Tokenizer(), new ConllOptions()));
        Assert.Equal("AnnotationInvalid", e.ErrorId);
        Assert.Contains("valid.txt", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData("""{"labels": []}""")]
    [InlineData("""{"labels": ["O", "O"]}""")]
    [InlineData("""{"labels": ["O", 3]}""")]
    [InlineData("""["O"]""")]
    public void A_malformed_labels_file_is_refused(string json)
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("labels.json"), json);
        var e = Assert.Throws<PotException>(() => ConllFile.ReadLabels(tmp.File("labels.json")));
        Assert.Equal("AnnotationInvalid", e.ErrorId);
        Assert.Contains("labels.json", e.Message);
    }

    [Fact]
    public void Engine_mistakes_are_named()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        File.WriteAllBytes(tmp.File("x.npy"), Array.Empty<byte>());
        string Problems(string yaml)
        {
            File.WriteAllText(tmp.File("engine.yml"), yaml);
            return Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml"))).Message;
        }
        Assert.Contains("vocab_file", Problems("dataset: {data_source: valid.txt, format: conll}\nmetrics: [{type: ner_accuracy}]"));
        Assert.Contains("use ner_accuracy, ner_precision, ner_recall or ner_f_score", Problems("dataset: {data_source: valid.txt, format: conll, vocab_file: vocab.txt}\nmetrics: [{type: accuracy}]"));
        Assert.Contains("use adapter type token_classification", Problems("dataset: {data_source: valid.txt, format: conll, vocab_file: vocab.txt}\nadapter: classification\nmetrics: [{type: ner_accuracy}]"));
        Assert.Contains("give dataset 'dataset0' format: conll", Problems("dataset: {data_source: x.npy, labels: x.npy}\nadapter: token_classification\nmetrics: [{type: ner_accuracy}]"));
        Assert.Contains("does not apply to CoNLL data", Problems("dataset: {data_source: valid.txt, format: conll, vocab_file: vocab.txt, doc_stride: 4}\nmetrics: [{type: ner_accuracy}]"));
        Assert.Contains("applies to CoNLL data", Problems("dataset: {data_source: x.npy, labels: x.npy, labels_file: x.npy}\nmetrics: [{type: accuracy}]"));
        Assert.Contains("keep one", Problems("dataset: {data_source: valid.txt, format: conll, vocab_file: vocab.txt, classes: [O], labels_file: vocab.txt}\nmetrics: [{type: ner_accuracy}]"));
        Assert.Contains("none twice", Problems("dataset: {data_source: valid.txt, format: conll, vocab_file: vocab.txt, classes: [O, O]}\nmetrics: [{type: ner_accuracy}]"));
        Assert.Contains("include_all_tokens", Problems("dataset: {data_source: valid.txt, format: conll, vocab_file: vocab.txt}\nmetrics: [{type: accuracy, include_all_tokens: true}]"));
    }
}
