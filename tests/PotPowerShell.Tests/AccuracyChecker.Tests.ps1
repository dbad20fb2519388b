BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:moduleDir = Get-PotModulePath
    Import-Module (Join-Path $moduleDir 'PotPowerShell.psd1') -Force
    $script:digits = Get-PotSamplePath
    $script:model = Join-Path $digits 'digits.onnx'
    $script:acConfig = Join-Path $digits 'accuracy-checker.yml'
}

Describe 'Accuracy Checker configurations' {
    It 'evaluates the sample images exactly as the sample .npy data' {
        # The images hold 15 * grey level; the configuration's normalization gives back the .npy values.
        $fromImages = Measure-PotModel -Path $model -EnginePath $acConfig -WarningVariable warnings
        $fromNpy = Measure-PotModel -Path $model -DataPath (Join-Path $digits 'validation') -PerSample
        $fromImages.ItemCount | Should -Be 400
        $fromImages.Values['accuracy@top1'] | Should -Be $fromNpy.Values['accuracy@top1']
        $fromImages.Values['accuracy@top3'] | Should -BeGreaterOrEqual $fromImages.Values['accuracy@top1']
        $warnings | Should -BeNullOrEmpty
    }

    It 'drives DefaultQuantization as the engine.config of a POT configuration' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'pot')
        $config = Join-Path $folder 'pot.json'
        @{
            model = @{ model_name = 'digits'; model = $model }
            engine = @{ config = $acConfig }
            compression = @{ algorithms = @(@{ name = 'DefaultQuantization'; params = @{ preset = 'performance'; stat_subset_size = 100 } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $result = Import-PotConfig $config | Invoke-DefaultQuantization -OutputPath (Join-Path $folder 'digits.int8.onnx')
        $result.OutputPath | Should -Exist
        $int8 = Measure-PotModel -Path $result.OutputPath -EnginePath $acConfig
        $int8.Values['accuracy@top1'] | Should -BeGreaterThan 0.97
    }

    It 'reads one sub-folder per class with cls_dataset_folder, numbering the folders in sorted order' {
        # The sample images sorted into folders 0 to 9 by their val.txt label: the same items, the same accuracy.
        $images = Join-Path $digits 'validation/images'
        $classes = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'classes')
        foreach ($line in Get-Content (Join-Path $images 'val.txt')) {
            $file, $label = $line -split ' '
            $folder = Join-Path $classes $label
            if (-not (Test-Path $folder)) { $null = New-Item -ItemType Directory -Path $folder }
            Copy-Item (Join-Path $images $file) $folder
        }
        $classPath = $classes.FullName -replace '\\', '/'
        $text = (Get-Content $acConfig -Raw) -replace 'data_source: validation/images', "data_source: $classPath" `
            -replace 'converter: imagenet', 'converter: cls_dataset_folder' -replace 'annotation_file: validation/images/val.txt', "data_dir: $classPath"
        $copy = Join-Path $TestDrive 'classes.yml'
        Set-Content -Path $copy -Value $text
        $fromFolders = Measure-PotModel -Path $model -EnginePath $copy -WarningVariable warnings
        $fromNpy = Measure-PotModel -Path $model -DataPath (Join-Path $digits 'validation')
        (Get-ChildItem $classes -Directory).Count | Should -Be 10
        $fromFolders.ItemCount | Should -Be 400
        $fromFolders.Values['accuracy@top1'] | Should -Be $fromNpy.Values['accuracy@top1']
        $warnings | Should -BeNullOrEmpty
    }

    It 'warns about launcher keys it reads without effect, naming them' {
        # A copy elsewhere, with the sample's relative paths made absolute.
        $images = Join-Path $digits 'validation/images'
        $text = (Get-Content $acConfig -Raw) -replace 'framework: onnx_runtime', "framework: dlsdk`n        device: CPU" `
            -replace 'validation/images', ($images -replace '\\', '/')
        $copy = Join-Path $TestDrive 'device.yml'
        Set-Content -Path $copy -Value $text
        $null = Measure-PotModel -Path $model -EnginePath $copy -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings.Message | Should -Contain 'models[0].launchers[0]: device is read and ignored: the model runs on ONNX Runtime''s CPU provider.'
    }

    It 'refuses what it cannot map, naming the key and what is supported' {
        $text = (Get-Content $acConfig -Raw) -replace 'converter: imagenet', 'converter: cityscapes'
        $copy = Join-Path $TestDrive 'cityscapes.yml'
        Set-Content -Path $copy -Value $text
        $err = { Measure-PotModel -Path $model -EnginePath $copy -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'EngineInvalid,*'
        $err.Exception.Message | Should -Match 'models\[0\]\.datasets\[0\]\.annotation_conversion\.converter \(line \d+\): ''cityscapes'' is not supported: imagenet, cls_dataset_folder, [a-z0-9_, ]*mscoco_detection, voc_detection, [a-z0-9_, ]* are'
    }

    It 'reads the engine written in place in a POT configuration, as POT''s specification shows it' {
        # engine: name, launchers and datasets of the sample's Accuracy Checker model entry, without models: or config:.
        $ac = Get-Content $acConfig -Raw
        $entry = ($ac -split "`n" | Where-Object { $_ -match '^    ' } | ForEach-Object { $_.Substring(4) }) -join "`n"
        $entry = $entry -replace 'validation/images', ((Join-Path $digits 'validation/images') -replace '\\', '/')
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'inline')
        $config = Join-Path $folder 'pot.yml'
        $indented = ($entry -split "`n" | ForEach-Object { "  $_" }) -join "`n"
        Set-Content $config ("model:`n  model_name: digits`n  model: $($model -replace '\\', '/')`nengine:`n  type: accuracy_checker`n$indented`n" +
            "compression:`n  algorithms:`n    - name: DefaultQuantization`n      params: {preset: performance, stat_subset_size: 100}`n")
        $pot = Import-PotConfig $config
        $fromFile = Measure-PotModel -Path $model -EnginePath $acConfig
        $inPlace = Measure-PotModel -Path $model -Config $pot -WarningVariable warnings
        $inPlace.ItemCount | Should -Be 400
        $inPlace.Values['accuracy@top1'] | Should -Be $fromFile.Values['accuracy@top1']
        $warnings | Should -BeNullOrEmpty
        $result = $pot | Invoke-DefaultQuantization -OutputPath (Join-Path $folder 'digits.int8.onnx')
        (Measure-PotModel -Path $result.OutputPath -Config $pot).Values['accuracy@top1'] | Should -BeGreaterThan 0.97
    }

    It 'takes a dataset named by Open Model Zoo''s layout from its definitions, with the data in DATA_DIR' {
        # models/digits/accuracy-check.yml names the dataset; data/dataset_definitions.yml defines it relative to DATA_DIR.
        $root = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'omz')
        $null = New-Item -ItemType Directory -Path (Join-Path $root 'data'), (Join-Path $root 'models/digits')
        Set-Content (Join-Path $root 'data/dataset_definitions.yml') @'
datasets:
  - name: digits_validation
    data_source: validation/images
    annotation_conversion:
      converter: imagenet
      annotation_file: validation/images/val.txt
    metrics:
      - {name: accuracy@top1, type: accuracy, top_k: 1}
      - {name: accuracy@top3, type: accuracy, top_k: 3}
'@
        $configPath = Join-Path $root 'models/digits/accuracy-check.yml'
        Set-Content $configPath @'
models:
  - name: digits
    launchers:
      - framework: onnx_runtime
        adapter: classification
    datasets:
      - name: digits_validation
        preprocessing:
          - type: bgr_to_gray
          - {type: normalization, mean: 120, std: 120}
global_definitions: ../../data/dataset_definitions.yml
'@
        $fromFile = Measure-PotModel -Path $model -EnginePath $acConfig
        $old = $env:DATA_DIR
        try {
            $env:DATA_DIR = $digits
            $named = Measure-PotModel -Path $model -EnginePath $configPath -WarningVariable warnings
            $named.ItemCount | Should -Be 400
            $named.Values.Keys | Sort-Object | Should -Be @('accuracy@top1', 'accuracy@top3')
            $named.Values['accuracy@top1'] | Should -Be $fromFile.Values['accuracy@top1']
            $warnings | Should -BeNullOrEmpty
            $env:DATA_DIR = $null
            $err = { Measure-PotModel -Path $model -EnginePath $configPath -ErrorAction Stop } | Should -Throw -PassThru
            $err.Exception.Message | Should -BeLike "*data_source, annotation_conversion, metrics come from the dataset 'digits_validation' of '*dataset_definitions.yml' (line 2)*set DATA_DIR*"
        } finally { $env:DATA_DIR = $old }
    }
}

Describe 'A re-identification configuration on a Market-1501 layout' {
    BeforeAll {
        # The sample's 400 images as a Market-1501 set: the digit's label + 1 is the id, cameras 1 to 3 in turn, every
        # fifth image a query. The digits model's class scores serve as embeddings.
        $images = Join-Path $digits 'validation/images'
        $script:market = Join-Path $TestDrive 'Market-1501'
        $null = New-Item -ItemType Directory -Path (Join-Path $market 'bounding_box_test'), (Join-Path $market 'query')
        $script:people = foreach ($line in Get-Content (Join-Path $images 'val.txt')) {
            $file, $label = $line -split ' '
            $index = [int]($file -replace '\D', '')
            $item = [pscustomobject]@{ Index = $index; Id = [int]$label + 1; Camera = $index % 3; Query = $index % 5 -eq 0 }
            $name = '{0:D4}_c{1}s1_{2:D6}_00.png' -f $item.Id, ($item.Camera + 1), $index
            Copy-Item (Join-Path $images $file) (Join-Path $market "$(if ($item.Query) { 'query' } else { 'bounding_box_test' })/$name")
            $item
        }
        $script:reidConfig = Join-Path $TestDrive 'reid.yml'
        Set-Content $reidConfig @'
models:
  - name: digits-as-people
    launchers:
      - framework: onnx_runtime
        adapter: {type: reid, grn_workaround: true}
    datasets:
      - name: market1501
        data_source: Market-1501
        annotation_conversion: {converter: market1501_reid, data_dir: Market-1501}
        reader: opencv_imread
        preprocessing:
          - type: bgr_to_gray
          - {type: normalization, mean: 120, std: 120}
        metrics:
          - {name: rank@1, type: cmc, top_k: 1, reference: 0.9}
          - {type: reid_map}
'@
    }

    It 'gives the share of queries whose nearest gallery image shows their digit, and the mean average precision' {
        # Golden values from ONNX Runtime's own outputs on the sample's .npy data (the images' exact values) and the
        # metrics' definitions: distance 1 - the dot product of embeddings scaled to length 1; gallery images of the
        # query's id from its camera left out; AP the trapezoids under precision against recall from (0, 1).
        Import-Module (Join-Path (Split-Path $moduleDir) 'PotPowerShell.TestSupport/PotPowerShell.TestSupport.psm1') -Force
        $npy = (Get-PotCoreType 'PotPowerShell.Core.Data.NpyDataset')::Open((Join-Path $digits 'validation'))
        try { $scores = (Get-PotSupportType 'InferenceBaseline')::FirstOutputs($model, $npy) } finally { $npy.Dispose() }
        $embedding = foreach ($s in $scores) {
            $norm = [math]::Sqrt((($s | ForEach-Object { [double]$_ * $_ }) | Measure-Object -Sum).Sum + 1e-6)
            , [double[]]($s | ForEach-Object { $_ / $norm })
        }
        $gallery = @($people | Where-Object { -not $_.Query })
        $firsts = 0; $aps = [Collections.Generic.List[double]]::new()
        foreach ($q in $people | Where-Object Query) {
            $ranked = $gallery | Where-Object { $_.Id -ne $q.Id -or $_.Camera -ne $q.Camera } | ForEach-Object {
                $g = $embedding[$_.Index]; $e = $embedding[$q.Index]; $dot = 0.0
                for ($k = 0; $k -lt $e.Length; $k++) { $dot += $e[$k] * $g[$k] }
                [pscustomobject]@{ Distance = 1 - $dot; Match = $_.Id -eq $q.Id }
            } | Sort-Object Distance
            $found = @($ranked | Where-Object Match).Count
            if ($found -eq 0) { continue }
            if ($ranked[0].Match) { $firsts++ }
            $hits = 0; $area = 0.0; $recall = 0.0; $precision = 1.0
            for ($i = 0; $hits -lt $found; $i++) {
                if ($ranked[$i].Match) { $hits++ }
                $r = $hits / $found; $p = $hits / ($i + 1)
                $area += ($r - $recall) * ($p + $precision) / 2; $recall = $r; $precision = $p
            }
            $aps.Add($area)
        }
        $result = Measure-PotModel -Path $model -EnginePath $reidConfig -WarningVariable warnings
        $result.ItemCount | Should -Be 400
        $result.'rank@1' | Should -BeGreaterThan 0.9
        [math]::Abs($result.'rank@1' - $firsts / $aps.Count) | Should -BeLessThan 1e-9
        [math]::Abs($result.reid_map - ($aps | Measure-Object -Average).Average) | Should -BeLessThan 1e-6
        @($warnings | Where-Object { $_ -notmatch 'reference: read and ignored' }) | Should -BeNullOrEmpty
    }

    It 'reads the re-identification example of about_PotPowerShell_Engine' {
        # The topic's engine with its data_source pointed at this Market-1501 set and the digits' 8 x 8 grey input.
        $about = Get-Content -Raw (Join-Path $PSScriptRoot '../../docs/en-US/about_PotPowerShell_Engine.md')
        $example = [regex]::Match($about, '(?s)A person re-identification model.*?```yaml\r?\n(.*?)```').Groups[1].Value
        $example | Should -Match 'reid_layout: market1501'
        $engine = Join-Path $TestDrive 'about-reid.yml'
        $example -replace 'Market-1501-v15.09.15', 'Market-1501' -replace 'width: 128', 'width: 8' -replace 'height: 256', "height: 8`n  channels: 1" | Set-Content $engine
        $result = Measure-PotModel -Path $model -EnginePath $engine
        $result.ItemCount | Should -Be 400
        $result.'rank@1' | Should -BeGreaterThan 0.5
        $result.reid_map | Should -BeGreaterThan 0.5
    }

    It 'guards rank@1 in AccuracyAwareQuantization from a POT configuration' {
        $config = Join-Path $TestDrive 'aaq.json'
        @{
            model = @{ model_name = 'digits'; model = $model }
            engine = @{ config = $reidConfig }
            compression = @{ algorithms = @(@{ name = 'AccuracyAwareQuantization'; params = @{ preset = 'performance'; stat_subset_size = 100; maximal_drop = 0.02 } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $result = Import-PotConfig $config | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $TestDrive 'digits.reid.onnx') -Force
        $result.Met | Should -BeTrue
        $result.OutputPath | Should -Exist
        $after = Measure-PotModel -Path $result.OutputPath -EnginePath $reidConfig
        $before = Measure-PotModel -Path $model -EnginePath $reidConfig
        ($before.'rank@1' - $after.'rank@1') | Should -BeLessOrEqual 0.02
    }
}

Describe 'A SQuAD question answering configuration' {
    BeforeAll {
        # Open Model Zoo's BERT configuration on a SQuAD file of two questions about one context, with a model that
        # scores 'quick' as an answer's start and 'fox' as its end (tests/PotPowerShell.TestSupport/QuestionAnsweringModels.cs).
        Import-PotTestSupport
        $script:squad = Join-Path $TestDrive 'squad'
        $null = New-Item -ItemType Directory $squad
        $vocabulary = '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'quick', 'brown', 'fox', 'jump', '##ed', 'over', 'lazy', 'dog', '.', 'who', '?', 'what', 'was'
        Set-Content (Join-Path $squad 'vocab.txt') $vocabulary
        @{ version = '1.1'; data = @(@{ title = 't'; paragraphs = @(@{ context = 'The quick brown fox jumped over the lazy dog.'; qas = @(
            @{ id = 'q1'; question = 'Who jumped?'; answers = @(@{ text = 'the quick brown fox'; answer_start = 0 }) },
            @{ id = 'q2'; question = 'What was lazy?'; answers = @(@{ text = 'the lazy dog'; answer_start = 0 }) }) }) }) } |
            ConvertTo-Json -Depth 10 | Set-Content (Join-Path $squad 'dev.json')
        $start = [float[]]::new($vocabulary.Count); $start[6] = 3
        $end = [float[]]::new($vocabulary.Count); $end[8] = 3
        $script:qaModel = Join-Path $squad 'qa.onnx'
        (Get-PotSupportType 'QuestionAnsweringModels')::Write($qaModel, $start, $end)
        $script:bertConfig = Join-Path $squad 'bert.yml'
        Set-Content $bertConfig @'
models:
  - name: bert-small-squad
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
      - name: squad_v1_1_msl12_ds4_lowercase
        annotation_conversion:
          converter: squad
          testing_file: dev.json
          vocab_file: vocab.txt
          max_seq_length: 12
          max_query_length: 64
          doc_stride: 4
          lower_case: true
        reader:
          type: annotation_features_extractor
          features: [input_ids, input_mask, segment_ids]
        postprocessing:
          - {type: extract_answers_tokens, max_answer: 30, n_best_size: 20}
        metrics:
          - {name: F1, type: f1, reference: 0.919}
          - {name: EM, type: exact_match, reference: 0.854}
'@
    }

    It 'scores each question by its best window, as Accuracy Checker does' {
        # Windows of 12 tokens hold 5 of the context's 11 tokens beside a question of 4, every 4 tokens: 3 per question.
        # q1's first window answers 'quick brown fox' (F1 1, exact match 1 against 'the quick brown fox'); q2's best
        # is its last, 'dog' from the word 'dog.' (F1 2/3 against 'the lazy dog', exact match 0). F1 5/6, EM 1/2.
        $result = Measure-PotModel -Path $qaModel -EnginePath $bertConfig -WarningVariable warnings
        $result.ItemCount | Should -Be 6
        [math]::Abs($result.F1 - 5 / 6) | Should -BeLessThan 1e-12
        $result.EM | Should -Be 0.5
        @($warnings | Where-Object { $_ -notmatch 'reference: read and ignored' }) | Should -BeNullOrEmpty
    }

    It 'reads the question answering example of about_PotPowerShell_Engine' {
        # The topic's engine on this SQuAD file, with windows of 12 tokens every 4: the values above.
        $about = Get-Content -Raw (Join-Path $PSScriptRoot '../../docs/en-US/about_PotPowerShell_Engine.md')
        $example = [regex]::Match($about, '(?s)A BERT question answering model.*?```yaml\r?\n(.*?)```').Groups[1].Value
        $example | Should -Match 'vocab_file'
        $engine = Join-Path $squad 'about-squad.yml'
        $example -replace 'squad/dev-v1.1.json', 'dev.json' -replace 'squad/vocab.txt', 'vocab.txt' -replace 'max_seq_length: 384', 'max_seq_length: 12' -replace 'doc_stride: 128', 'doc_stride: 4' | Set-Content $engine
        $result = Measure-PotModel -Path $qaModel -EnginePath $engine
        [math]::Abs($result.squad_f1 - 5 / 6) | Should -BeLessThan 1e-12
        $result.squad_exact_match | Should -Be 0.5
    }

    It 'guards F1 in AccuracyAwareQuantization from a POT configuration, calibrating on the windows' {
        $config = Join-Path $squad 'aaq.json'
        @{
            model = @{ model_name = 'qa'; model = $qaModel }
            engine = @{ config = $bertConfig }
            compression = @{ algorithms = @(@{ name = 'AccuracyAwareQuantization'; params = @{ preset = 'mixed'; precision = 'all_int8'; maximal_drop = 0.01; metrics = @(@{ name = 'F1' }) } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $result = Import-PotConfig $config | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $squad 'qa.int8.onnx') -Force -WarningAction SilentlyContinue
        $result.Met | Should -BeTrue
        $result.QuantizedLayerCount | Should -Be 1
        $result.Metrics.Name | Should -Contain 'F1'
        $after = Measure-PotModel -Path $result.OutputPath -EnginePath $bertConfig
        [math]::Abs($after.F1 - 5 / 6) | Should -BeLessOrEqual 0.01
    }

    It 'calibrates Invoke-DefaultQuantization on the configuration''s windows given as -CalibrationDataPath' {
        $result = Invoke-DefaultQuantization -ModelPath $qaModel -CalibrationDataPath $bertConfig -Precision AllInt8 -OutputPath (Join-Path $squad 'qa.dq.onnx') -Force -WarningAction SilentlyContinue
        $result.StatSubsetSize | Should -Be 6
        $result.QuantizedLayerCount | Should -Be 1
        $after = Measure-PotModel -Path $result.OutputPath -EnginePath $bertConfig
        [math]::Abs($after.F1 - 5 / 6) | Should -BeLessOrEqual 0.01
    }

    It 'compares answers with the FP32 model''s with annotation_free' {
        $config = Join-Path $squad 'free.json'
        @{
            model = @{ model_name = 'qa'; model = $qaModel }
            engine = @{ config = $bertConfig }
            compression = @{ algorithms = @(@{ name = 'AccuracyAwareQuantization'; params = @{ preset = 'mixed'; precision = 'all_int8'; maximal_drop = 0.01; annotation_free = $true } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $result = Import-PotConfig $config | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $squad 'qa.free.onnx') -Force -WarningVariable warnings -WarningAction SilentlyContinue
        $result.Met | Should -BeTrue
        # Against its own answers the FP32 model scores 1 on every window.
        ($result.Metrics | Where-Object Name -eq 'F1').Baseline | Should -Be 1
        $warnings -match 'compare with the FP32 model''s detections .*, class maps, answers or token classes' | Should -Not -BeNullOrEmpty
    }
}

Describe 'A CoNLL named entity configuration' {
    BeforeAll {
        # Open Model Zoo's bert-base-ner configuration on a CoNLL file of two sentences, with a model whose class for
        # each token is known (tests/PotPowerShell.TestSupport/TokenClassificationModels.cs): eu B-ORG, german, british
        # and lamb B-MISC, call B-LOC, peter and black B-PER, ##burn I-PER, the rest O.
        Import-PotTestSupport
        $script:ner = Join-Path $TestDrive 'ner'
        $null = New-Item -ItemType Directory $ner
        Set-Content (Join-Path $ner 'vocab.txt') ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'eu', 'rejects', 'german', 'call', 'to', 'boycott', 'british', 'lamb', '.', 'peter', 'black', '##burn')
        Set-Content (Join-Path $ner 'valid.txt') ("-DOCSTART- -X- -X- O`n`nEU NNP B-NP B-ORG`nrejects VBZ B-VP O`nGerman JJ B-NP B-MISC`ncall NN I-NP O`n" +
            "to TO B-VP O`nboycott VB I-VP O`nBritish JJ B-NP B-MISC`nlamb NN I-NP O`n. . O O`n`nPeter NNP B-NP B-PER`nBlackburn NNP I-NP I-PER") -NoNewline
        $script:nerModel = Join-Path $ner 'ner.onnx'
        [IO.File]::WriteAllBytes($nerModel, (Get-PotSupportType 'TokenClassificationModels')::OneHot([int[]](0, 0, 0, 0, 0, 5, 0, 1, 7, 0, 0, 1, 1, 0, 3, 3, 4), 9))
        $script:nerConfig = Join-Path $ner 'bert-base-ner.yml'
        Set-Content $nerConfig @'
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
'@
    }

    It 'scores words and entity chunks as Accuracy Checker does' {
        # Words: 7 of 9 and 1 of 2 right (call B-LOC, lamb B-MISC and Blackburn B-PER are wrong). Chunks per type
        # (predicted, right, labelled): ORG 1, 1, 1; MISC 3, 2, 2; LOC 1, 0, 0; PER 2, 0, 1: F1 (1 + 4/5 + 0 + 0) / 4.
        $result = Measure-PotModel -Path $nerModel -EnginePath $nerConfig -WarningVariable warnings
        $result.ItemCount | Should -Be 2
        [math]::Abs($result.ner_accuracy - 8 / 11) | Should -BeLessThan 1e-12
        [math]::Abs($result.ner_f_score - 0.45) | Should -BeLessThan 1e-12
        @($warnings | Where-Object { $_ -notmatch '(reference|presenter): read and ignored' }) | Should -BeNullOrEmpty
    }

    It 'reads the named entity example of about_PotPowerShell_Engine' {
        $about = Get-Content -Raw (Join-Path $PSScriptRoot '../../docs/en-US/about_PotPowerShell_Engine.md')
        $example = [regex]::Match($about, '(?s)A BERT named entity recognizer.*?```yaml\r?\n(.*?)```').Groups[1].Value
        $example | Should -Match 'format: conll'
        $engine = Join-Path $ner 'about-ner.yml'
        # The topic's model is cased; this vocabulary is lower case.
        $example -replace 'conll2003/valid.txt', 'valid.txt' -replace 'conll2003/vocab.txt', 'vocab.txt' -replace 'max_seq_length: 128', "max_seq_length: 12`n  lower_case: true" | Set-Content $engine
        $result = Measure-PotModel -Path $nerModel -EnginePath $engine
        [math]::Abs($result.ner_accuracy - 8 / 11) | Should -BeLessThan 1e-12
        [math]::Abs($result.ner_f_score - 0.45) | Should -BeLessThan 1e-12
    }

    It 'guards entity F1 in AccuracyAwareQuantization from a POT configuration, calibrating on the sentences' {
        $config = Join-Path $ner 'aaq.json'
        @{
            model = @{ model_name = 'ner'; model = $nerModel }
            engine = @{ config = $nerConfig }
            compression = @{ algorithms = @(@{ name = 'AccuracyAwareQuantization'; params = @{ preset = 'mixed'; precision = 'all_int8'; maximal_drop = 0.01; metrics = @(@{ name = 'ner_f_score' }) } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $result = Import-PotConfig $config | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $ner 'ner.int8.onnx') -Force -WarningAction SilentlyContinue
        $result.Met | Should -BeTrue
        $result.QuantizedLayerCount | Should -Be 1
        $after = Measure-PotModel -Path $result.OutputPath -EnginePath $nerConfig
        [math]::Abs($after.ner_f_score - 0.45) | Should -BeLessOrEqual 0.01
    }

    It 'completes Open Model Zoo''s quantization.yml template with the model and its configuration' {
        # bert-base-ner's template as Open Model Zoo ships it: compression settings only.
        $template = Join-Path $ner 'quantization.yml'
        Set-Content $template @'
compression:
  model_type: transformer
  algorithms:
    - name: DefaultQuantization
      params:
        preset: mixed
        stat_subset_size: 300
        use_fast_bias: False
        activations:
          range_estimator:
            max:
              aggregator: max
              type: abs_max
            min:
              aggregator: min
              type: min
'@
        $config = Import-PotConfig $template -ModelPath $nerModel -EnginePath $nerConfig -WarningAction SilentlyContinue
        $config.Model.ModelPath | Should -Be $nerModel
        $result = $config | Invoke-DefaultQuantization -Precision AllInt8 -OutputPath (Join-Path $ner 'ner.template.onnx') -Force -WarningAction SilentlyContinue
        $result.StatSubsetSize | Should -Be 2
        $result.QuantizedLayerCount | Should -Be 1
        { Import-PotConfig $template -ErrorAction Stop } | Should -Throw -ExpectedMessage '*-ModelPath*'
    }

    It 'compares token classes with the FP32 model''s with annotation_free, and calibrates on the configuration''s sentences' {
        $config = Join-Path $ner 'free.json'
        @{
            model = @{ model_name = 'ner'; model = $nerModel }
            engine = @{ config = $nerConfig }
            compression = @{ algorithms = @(@{ name = 'AccuracyAwareQuantization'; params = @{ preset = 'mixed'; precision = 'all_int8'; maximal_drop = 0.01; annotation_free = $true } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $result = Import-PotConfig $config | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $ner 'ner.free.onnx') -Force -WarningVariable warnings -WarningAction SilentlyContinue
        $result.Met | Should -BeTrue
        # Against its own classes the FP32 model scores 1.
        ($result.Metrics | Where-Object Name -eq 'ner_accuracy').Baseline | Should -Be 1
        $warnings -match 'answers or token classes instead of annotations' | Should -Not -BeNullOrEmpty
        $dq = Invoke-DefaultQuantization -ModelPath $nerModel -CalibrationDataPath $nerConfig -Precision AllInt8 -OutputPath (Join-Path $ner 'ner.dq.onnx') -Force -WarningAction SilentlyContinue
        $dq.StatSubsetSize | Should -Be 2
        $dq.QuantizedLayerCount | Should -Be 1
    }
}
