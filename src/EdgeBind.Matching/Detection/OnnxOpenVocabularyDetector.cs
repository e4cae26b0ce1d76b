using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using OpenCvSharp;

namespace EdgeBind.Matching.Detection;

/// <summary>
/// Runs an external open-vocabulary detector in ONNX whose classes are given as embeddings, so any
/// query embedding (an audio clip's, a text's) can be a class. The model contract:
/// inputs <c>image</c> float32 [1,3,H,W] (RGB scaled to [0,1], H and W fixed by the model) and
/// <c>class_embeddings</c> float32 [K,D]; outputs <c>boxes</c> float32 [M,4] (x1, y1, x2, y2 in
/// input pixels) and <c>scores</c> float32 [M,K] (in [0,1]).
/// </summary>
public sealed class OnnxOpenVocabularyDetector : IDisposable
{
    private readonly InferenceSession _session;

    /// <summary>Loads the model; throws <see cref="InvalidDataException"/> naming the file when it does not follow the contract.</summary>
    public OnnxOpenVocabularyDetector(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"detector model not found: {path}", path);
        }
        Path = path;
        try
        {
            _session = new InferenceSession(path);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"{path}: not a loadable ONNX model: {ex.Message}", ex);
        }
        try
        {
            var image = Input("image");
            var classes = Input("class_embeddings");
            var dims = image.Dimensions;
            if (dims.Length != 4 || dims[1] != 3 || dims[2] <= 0 || dims[3] <= 0 || image.ElementDataType != TensorElementType.Float)
            {
                throw new InvalidDataException($"{path}: expected input 'image' float32 [1,3,H,W] with fixed H and W, found {image.ElementDataType} [{string.Join(",", dims)}]");
            }
            InputHeight = dims[2];
            InputWidth = dims[3];
            var cd = classes.Dimensions;
            if (cd.Length != 2 || cd[1] <= 0)
            {
                throw new InvalidDataException($"{path}: expected input 'class_embeddings' float32 [K,D] with fixed D, found [{string.Join(",", cd)}]");
            }
            Dimension = cd[1];
            if (classes.ElementDataType != TensorElementType.Float)
            {
                throw new InvalidDataException($"{path}: expected input 'class_embeddings' float32 [K,D], found {classes.ElementDataType} [{string.Join(",", cd)}]");
            }
            foreach (var (output, last) in new[] { ("boxes", 4), ("scores", -1) })
            {
                if (!_session.OutputMetadata.TryGetValue(output, out var meta))
                {
                    throw new InvalidDataException($"{path}: expected outputs 'boxes' [M,4] and 'scores' [M,K], found {string.Join(", ", _session.OutputMetadata.Keys)}");
                }
                var od = meta.Dimensions;
                if (od.Length != 2 || meta.ElementDataType != TensorElementType.Float || (last > 0 && od[1] > 0 && od[1] != last))
                {
                    throw new InvalidDataException($"{path}: expected output '{output}' float32 {(last > 0 ? "[M,4]" : "[M,K]")}, found {meta.ElementDataType} [{string.Join(",", od)}]");
                }
            }
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <summary>The model file.</summary>
    public string Path { get; }

    /// <summary>Model input width, pixels.</summary>
    public int InputWidth { get; }

    /// <summary>Model input height, pixels.</summary>
    public int InputHeight { get; }

    /// <summary>Class embedding dimension.</summary>
    public int Dimension { get; }

    /// <summary>
    /// Detects the classes in an 8-bit BGR frame. Boxes are in frame pixels; each box takes its best
    /// class; boxes under <paramref name="scoreThreshold"/> are dropped, then non-maximum suppression.
    /// </summary>
    /// <param name="bgr">The frame (CV_8UC3).</param>
    /// <param name="labels">Class names (query ids), K of them.</param>
    /// <param name="classEmbeddings">Row-major [K, Dimension].</param>
    /// <param name="scoreThreshold">Lowest score kept.</param>
    /// <param name="nmsIou">IoU above which the weaker of two boxes is dropped.</param>
    /// <param name="topK">Most boxes returned.</param>
    public IReadOnlyList<DetectionBox> Detect(Mat bgr, IReadOnlyList<string> labels, ReadOnlySpan<float> classEmbeddings, double scoreThreshold, double nmsIou, int topK)
    {
        ArgumentNullException.ThrowIfNull(bgr);
        ArgumentNullException.ThrowIfNull(labels);
        var k = labels.Count;
        if (k == 0 || classEmbeddings.Length != k * Dimension)
        {
            throw new ArgumentException($"{Path}: expected class embeddings [{k},{Dimension}] ({k * Dimension} values), found {classEmbeddings.Length} values");
        }
        if (bgr.Type() != MatType.CV_8UC3)
        {
            throw new ArgumentException($"{Path}: expected an 8-bit BGR frame, found {bgr.Type()}");
        }
        var pixels = new float[3 * InputHeight * InputWidth];
        using (var resized = new Mat())
        {
            Cv2.Resize(bgr, resized, new Size(InputWidth, InputHeight), 0, 0, InterpolationFlags.Linear);
            var plane = InputHeight * InputWidth;
            for (var y = 0; y < InputHeight; y++)
            {
                for (var x = 0; x < InputWidth; x++)
                {
                    var p = resized.At<Vec3b>(y, x);
                    var o = y * InputWidth + x;
                    pixels[o] = p.Item2 / 255f;
                    pixels[plane + o] = p.Item1 / 255f;
                    pixels[2 * plane + o] = p.Item0 / 255f;
                }
            }
        }
        using var image = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, InputHeight, InputWidth]);
        using var classes = OrtValue.CreateTensorValueFromMemory(classEmbeddings.ToArray(), [k, Dimension]);
        IDisposableReadOnlyCollection<OrtValue> results;
        try
        {
            using var runOptions = new RunOptions();
            results = _session.Run(runOptions, ["image", "class_embeddings"], [image, classes], ["boxes", "scores"]);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"{Path}: inference failed for image [1,3,{InputHeight},{InputWidth}] and class_embeddings [{k},{Dimension}]: {ex.Message}", ex);
        }
        using (results)
        {
            var boxShape = results[0].GetTensorTypeAndShape().Shape;
            var scoreShape = results[1].GetTensorTypeAndShape().Shape;
            if (boxShape.Length != 2 || boxShape[1] != 4 || scoreShape.Length != 2 || scoreShape[0] != boxShape[0] || scoreShape[1] != k)
            {
                throw new InvalidDataException($"{Path}: expected outputs boxes [M,4] and scores [M,{k}], found [{string.Join(",", boxShape)}] and [{string.Join(",", scoreShape)}]");
            }
            var boxes = results[0].GetTensorDataAsSpan<float>();
            var scores = results[1].GetTensorDataAsSpan<float>();
            var sx = bgr.Width / (double)InputWidth;
            var sy = bgr.Height / (double)InputHeight;
            var found = new List<DetectionBox>();
            for (var m = 0; m < boxShape[0]; m++)
            {
                var best = 0;
                for (var c = 1; c < k; c++)
                {
                    if (scores[m * k + c] > scores[m * k + best])
                    {
                        best = c;
                    }
                }
                var score = scores[m * k + best];
                if (score < scoreThreshold)
                {
                    continue;
                }
                var x1 = (int)Math.Round(boxes[m * 4] * sx);
                var y1 = (int)Math.Round(boxes[m * 4 + 1] * sy);
                var x2 = (int)Math.Round(boxes[m * 4 + 2] * sx);
                var y2 = (int)Math.Round(boxes[m * 4 + 3] * sy);
                found.Add(new DetectionBox(x1, y1, Math.Max(0, x2 - x1), Math.Max(0, y2 - y1), score, labels[best]));
            }
            return RegionProposals.Suppress(found, nmsIou, topK);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _session.Dispose();

    private NodeMetadata Input(string name) =>
        _session.InputMetadata.TryGetValue(name, out var meta)
            ? meta
            : throw new InvalidDataException($"{Path}: expected inputs 'image' [1,3,H,W] and 'class_embeddings' [K,D], found {string.Join(", ", _session.InputMetadata.Keys)}");
}
