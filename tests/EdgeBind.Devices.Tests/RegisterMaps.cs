using System.Buffers.Binary;

namespace EdgeBind.Devices.Tests;

/// <summary>Register files loaded with datasheet values.</summary>
public static class RegisterMaps
{
    // MPU-6000/6050 register map (RM-MPU-6000A rev 4.2): WHO_AM_I 0x75 reads 0x68; PWR_MGMT_1 0x6B resets to
    // 0x40 (SLEEP); writing DEVICE_RESET (bit 7) restores every register's reset value and the bit clears itself.
    public const byte AccelXoutH = 0x3B;
    public const byte TempOutH = 0x41;
    public const byte GyroXoutH = 0x43;
    public const byte PwrMgmt1 = 0x6B;
    public const byte WhoAmI = 0x75;

    public static SimulatedI2cDevice Mpu6050(short ax, short ay, short az, short gx, short gy, short gz)
    {
        var regs = new byte[256];
        ResetMpu(regs);
        SetMpuData(regs, ax, ay, az, gx, gy, gz);
        var device = new SimulatedI2cDevice(1, 0x68, regs)
        {
            OnWrite = (d, reg, value) =>
            {
                if (reg == PwrMgmt1 && (value & 0x80) != 0)
                {
                    // Keep the measurements (they are the sensor's, not configuration).
                    var data = d.Registers.AsSpan(AccelXoutH, 14).ToArray();
                    ResetMpu(d.Registers);
                    data.CopyTo(d.Registers.AsSpan(AccelXoutH));
                }
            },
        };
        return device;
    }

    private static void ResetMpu(byte[] regs)
    {
        Array.Clear(regs);
        regs[PwrMgmt1] = 0x40;
        regs[WhoAmI] = 0x68;
    }

    public static void SetMpuData(byte[] regs, short ax, short ay, short az, short gx, short gy, short gz)
    {
        // Measurement registers are big-endian, high byte first.
        BinaryPrimitives.WriteInt16BigEndian(regs.AsSpan(AccelXoutH), ax);
        BinaryPrimitives.WriteInt16BigEndian(regs.AsSpan(AccelXoutH + 2), ay);
        BinaryPrimitives.WriteInt16BigEndian(regs.AsSpan(AccelXoutH + 4), az);
        BinaryPrimitives.WriteInt16BigEndian(regs.AsSpan(TempOutH), 1000);
        BinaryPrimitives.WriteInt16BigEndian(regs.AsSpan(GyroXoutH), gx);
        BinaryPrimitives.WriteInt16BigEndian(regs.AsSpan(GyroXoutH + 2), gy);
        BinaryPrimitives.WriteInt16BigEndian(regs.AsSpan(GyroXoutH + 4), gz);
    }

    // AMG88xx (Grid-EYE) reference specification: PCTL 0x00 (0x00 normal), RST 0x01, FPSC 0x02, INTC 0x03,
    // STAT 0x04, AVE 0x07, thermistor TTHL/TTHH 0x0E/0x0F (12-bit sign-magnitude, 0.0625 C), pixel 1..64 at
    // 0x80..0xFF: 12-bit two's complement little-endian, 0.25 C per LSB.
    public const byte PixelBase = 0x80;

    /// <summary>An AMG88xx whose pixel (x, y) reads <paramref name="celsius"/>(x, y), rounded to the sensor's 0.25 C.</summary>
    public static SimulatedI2cDevice Amg88xx(Func<int, int, double> celsius)
    {
        var regs = new byte[256];
        SetAmgPixels(regs, celsius);
        regs[0x0E] = 0x90; // thermistor 25 C = 400 * 0.0625
        regs[0x0F] = 0x01;
        return new SimulatedI2cDevice(1, 0x68, regs);
    }

    public static void SetAmgPixels(byte[] regs, Func<int, int, double> celsius)
    {
        for (var y = 0; y < 8; y++)
        {
            for (var x = 0; x < 8; x++)
            {
                var raw = (short)Math.Round(celsius(x, y) / 0.25);
                var twelveBit = (ushort)(raw & 0x0FFF);
                BinaryPrimitives.WriteUInt16LittleEndian(regs.AsSpan(PixelBase + (2 * ((8 * y) + x))), twelveBit);
            }
        }
    }

    // BNO055 datasheet (BST-BNO055-DS000) page 0: CHIP_ID 0x00 = 0xA0, ACC_ID 0x01 = 0xFB, MAG_ID 0x02 = 0x32,
    // GYR_ID 0x03 = 0x0F; ACC_DATA_X_LSB 0x08 (1 m/s^2 = 100 LSB), GYR_DATA_X_LSB 0x14 (1 deg/s = 16 LSB),
    // little-endian; UNIT_SEL 0x3B; OPR_MODE 0x3D.
    public static SimulatedI2cDevice Bno055(short ax, short ay, short az, short gx, short gy, short gz)
    {
        var regs = new byte[256];
        regs[0x00] = 0xA0;
        regs[0x01] = 0xFB;
        regs[0x02] = 0x32;
        regs[0x03] = 0x0F;
        regs[0x04] = 0x11;
        regs[0x05] = 0x03;
        regs[0x06] = 0x15;
        short[] values = [ax, ay, az];
        for (var i = 0; i < 3; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(regs.AsSpan(0x08 + (2 * i)), values[i]);
        }
        values = [gx, gy, gz];
        for (var i = 0; i < 3; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(regs.AsSpan(0x14 + (2 * i)), values[i]);
        }
        return new SimulatedI2cDevice(1, 0x28, regs);
    }
}
