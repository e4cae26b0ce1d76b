using EdgeBind.Core;
using EdgeBind.Core.Sources;

namespace EdgeBind.Devices.Imu;

/// <summary>Registers the IMU source types.</summary>
public static class ImuRegistration
{
    /// <summary>Adds <c>imu.i2c.mpu6050</c>, <c>imu.i2c.bno055</c>, <c>imu.serial</c> and <c>imu.file</c>.</summary>
    public static SourceRegistry AddImuSources(this SourceRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .Register<I2cImuOptions>("imu.i2c.mpu6050", Modality.Imu,
                "InvenSense MPU-6050 on I2C (Iot.Device.Imu), polled at rate_hz, m/s^2 and rad/s",
                (id, o) => new I2cImuSource(id, I2cImuModel.Mpu6050, o))
            .Register<I2cImuOptions>("imu.i2c.bno055", Modality.Imu,
                "Bosch BNO055 on I2C (Iot.Device.Bno055), polled at rate_hz, m/s^2 and rad/s",
                (id, o) => new I2cImuSource(id, I2cImuModel.Bno055, o))
            .Register<SerialImuOptions>("imu.serial", Modality.Imu,
                "serial IMU sending 't,ax,ay,az,gx,gy,gz' lines (optional *XX checksum); bad lines counted and skipped",
                (id, o) => new SerialImuSource(id, o))
            .Register<ImuFileOptions>("imu.file", Modality.Imu,
                "IMU recording: CSV 't,ax,ay,az,gx,gy,gz' or .npy [N,7]/[N,6], paced in real time or fast",
                (id, o) => new ImuFileSource(id, o));
    }
}
