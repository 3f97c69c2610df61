/** Operation counters in the shape of etcd's /v2/stats/store. */
export class StoreStats {
  getsSuccess = 0;
  getsFail = 0;
  setsSuccess = 0;
  setsFail = 0;
  deleteSuccess = 0;
  deleteFail = 0;
  updateSuccess = 0;
  updateFail = 0;
  createSuccess = 0;
  createFail = 0;
  compareAndSwapSuccess = 0;
  compareAndSwapFail = 0;
  compareAndDeleteSuccess = 0;
  compareAndDeleteFail = 0;
  expireCount = 0;

  toJson(watchers: number): Record<string, number> {
    return {
      getsSuccess: this.getsSuccess,
      getsFail: this.getsFail,
      setsSuccess: this.setsSuccess,
      setsFail: this.setsFail,
      deleteSuccess: this.deleteSuccess,
      deleteFail: this.deleteFail,
      updateSuccess: this.updateSuccess,
      updateFail: this.updateFail,
      createSuccess: this.createSuccess,
      createFail: this.createFail,
      compareAndSwapSuccess: this.compareAndSwapSuccess,
      compareAndSwapFail: this.compareAndSwapFail,
      compareAndDeleteSuccess: this.compareAndDeleteSuccess,
      compareAndDeleteFail: this.compareAndDeleteFail,
      expireCount: this.expireCount,
      watchers,
    };
  }
}
