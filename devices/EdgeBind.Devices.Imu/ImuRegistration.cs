using EdgeBind.Core;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Imu;

/// <summary>The IMU source types.</summary>
public static class ImuRegistration
{
    /// <summary><c>imu.i2c.mpu6050</c>.</summary>
    public static readonly SourceType Mpu6050 = SourceType.Of<I2cImuOptions>("imu.i2c.mpu6050", Modality.Imu,
        "InvenSense MPU-6050 on I2C (Iot.Device.Imu), polled at rate_hz, m/s^2 and rad/s", (id, o) => new I2cImuSource(id, I2cImuModel.Mpu6050, o));

    /// <summary><c>imu.i2c.bno055</c>.</summary>
    public static readonly SourceType Bno055 = SourceType.Of<I2cImuOptions>("imu.i2c.bno055", Modality.Imu,
        "Bosch BNO055 on I2C (Iot.Device.Bno055), polled at rate_hz, m/s^2 and rad/s", (id, o) => new I2cImuSource(id, I2cImuModel.Bno055, o));

    /// <summary><c>imu.serial</c>: lines in the <see cref="ImuLine"/> protocol.</summary>
    public static readonly SourceType Serial = SourceType.Of<SerialImuOptions>("imu.serial", Modality.Imu,
        "serial IMU sending 't,ax,ay,az,gx,gy,gz' lines (optional *XX checksum); bad lines counted and skipped", (id, o) => new SerialImuSource(id, o));

    /// <summary><c>imu.file</c>: a recording.</summary>
    public static readonly SourceType File = SourceType.Of<ImuFileOptions>("imu.file", Modality.Imu,
        "IMU recording: CSV 't,ax,ay,az,gx,gy,gz' or .npy [N,7]/[N,6], paced in real time or fast", (id, o) => new ImuFileSource(id, o));

    /// <summary>Adds the four IMU types.</summary>
    public static SourceRegistry AddImuSources(this SourceRegistry registry) => (registry ?? throw new ArgumentNullException(nameof(registry))).Add(Mpu6050, Bno055, Serial, File);
}
