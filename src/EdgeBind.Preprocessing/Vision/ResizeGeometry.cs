namespace EdgeBind.Preprocessing.Vision;

/// <summary>
/// Output geometry of torchvision 0.14's <c>Resize(size)</c> with an int followed by <c>CenterCrop(size)</c>:
/// the short side becomes <c>size</c>, the long side <c>int(size * long / short)</c> (truncated), and the crop
/// offsets are <c>int(round((resized - size) / 2.0))</c> with Python's round-half-to-even.
/// </summary>
internal readonly record struct ResizeGeometry(int InWidth, int InHeight, int OutWidth, int OutHeight, int CropX, int CropY, int Size)
{
    public static ResizeGeometry Create(int inWidth, int inHeight, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inHeight);
        int outWidth, outHeight;
        if (inWidth <= inHeight)
        {
            outWidth = size;
            outHeight = LongSide(size, inHeight, inWidth);
        }
        else
        {
            outHeight = size;
            outWidth = LongSide(size, inWidth, inHeight);
        }
        // The long side is at least the short side, so the crop never pads.
        return new ResizeGeometry(inWidth, inHeight, outWidth, outHeight, CropOffset(outWidth, size), CropOffset(outHeight, size), size);
    }

    // Python: int(size * long / short); both operands are exact in double, so the quotient rounds the same.
    private static int LongSide(int size, int longSide, int shortSide) => (int)((double)size * longSide / shortSide);

    private static int CropOffset(int resized, int size) => (int)Math.Round((resized - size) / 2.0, MidpointRounding.ToEven);
}
