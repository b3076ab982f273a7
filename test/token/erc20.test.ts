import { expect } from "chai";
import { artifacts, ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, TypedDataEncoder } from "ethers";
import {
  ADMIN_DELAY,
  BLOCKLISTER_ROLE,
  DECIMALS,
  DEFAULT_ADMIN_ROLE,
  INITIAL_BALANCE,
  MASTER_MINTER_ROLE,
  PAUSER_ROLE,
  RESCUER_ROLE,
  TOKEN_NAME,
  TOKEN_SYMBOL,
  deployTokenFixture,
  usd,
} from "./fixtures";

async function interfaceId(name: string): Promise<string> {
  const iface = new Interface((await artifacts.readArtifact(name)).abi);
  let id = 0n;
  iface.forEachFunction((fn) => {
    id ^= BigInt(fn.selector);
  });
  return ethers.toBeHex(id, 4);
}

describe("SettlementToken: deployment and ERC-20", function () {
  describe("deployment", function () {
    it("sets name, symbol, 6 decimals, version 2 and zero supply before minting", async function () {
      const [admin] = await ethers.getSigners();
      const token = await ethers.deployContract("SettlementToken", [
        TOKEN_NAME,
        TOKEN_SYMBOL,
        ADMIN_DELAY,
        admin.address,
      ]);
      expect(await token.name()).to.equal(TOKEN_NAME);
      expect(await token.symbol()).to.equal(TOKEN_SYMBOL);
      expect(await token.decimals()).to.equal(DECIMALS);
      expect(await token.version()).to.equal("2");
      expect(await token.totalSupply()).to.equal(0n);
      expect(await token.paused()).to.equal(false);
    });

    it("makes the initial admin the default admin with the given delay, and grants no other role", async function () {
      const { token, admin } = await loadFixture(deployTokenFixture);
      expect(await token.defaultAdmin()).to.equal(admin.address);
      expect(await token.owner()).to.equal(admin.address);
      expect(await token.defaultAdminDelay()).to.equal(ADMIN_DELAY);
      expect(await token.hasRole(DEFAULT_ADMIN_ROLE, admin.address)).to.equal(true);
      for (const role of [MASTER_MINTER_ROLE, PAUSER_ROLE, BLOCKLISTER_ROLE, RESCUER_ROLE]) {
        expect(await token.hasRole(role, admin.address)).to.equal(false);
        expect(await token.getRoleAdmin(role)).to.equal(DEFAULT_ADMIN_ROLE);
      }
    });

    it("rejects the zero address as initial admin", async function () {
      const factory = await ethers.getContractFactory("SettlementToken");
      await expect(factory.deploy(TOKEN_NAME, TOKEN_SYMBOL, ADMIN_DELAY, ethers.ZeroAddress))
        .to.be.revertedWithCustomError(factory, "AccessControlInvalidDefaultAdmin")
        .withArgs(ethers.ZeroAddress);
    });

    it("exposes the role identifiers and USDC's typehashes", async function () {
      const { token } = await loadFixture(deployTokenFixture);
      expect(await token.MASTER_MINTER_ROLE()).to.equal(MASTER_MINTER_ROLE);
      expect(await token.PAUSER_ROLE()).to.equal(PAUSER_ROLE);
      expect(await token.BLOCKLISTER_ROLE()).to.equal(BLOCKLISTER_ROLE);
      expect(await token.RESCUER_ROLE()).to.equal(RESCUER_ROLE);
      expect(await token.DEFAULT_ADMIN_ROLE()).to.equal(DEFAULT_ADMIN_ROLE);
      expect(await token.PERMIT_TYPEHASH()).to.equal(
        ethers.id("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
      );
      expect(await token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH()).to.equal(
        ethers.id(
          "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)",
        ),
      );
      // The constants Circle's FiatTokenV2 hard-codes.
      expect(await token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH()).to.equal(
        "0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267",
      );
      expect(await token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH()).to.equal(
        ethers.id(
          "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)",
        ),
      );
      expect(await token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH()).to.equal(
        "0xd099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8",
      );
      expect(await token.CANCEL_AUTHORIZATION_TYPEHASH()).to.equal(
        ethers.id("CancelAuthorization(address authorizer,bytes32 nonce)"),
      );
      expect(await token.CANCEL_AUTHORIZATION_TYPEHASH()).to.equal(
        "0x158b0a9edf7a828aad02f63cd515c68ef2f50ba807396f6d12842833a1597429",
      );
    });

    it('has the EIP-712 domain (name, "2", chainId, this) in DOMAIN_SEPARATOR and eip712Domain', async function () {
      const { token } = await loadFixture(deployTokenFixture);
      const { chainId } = await ethers.provider.getNetwork();
      const address = await token.getAddress();
      const expected = TypedDataEncoder.hashDomain({
        name: TOKEN_NAME,
        version: "2",
        chainId,
        verifyingContract: address,
      });
      expect(await token.DOMAIN_SEPARATOR()).to.equal(expected);
      const domain = await token.eip712Domain();
      expect(domain.fields).to.equal("0x0f");
      expect(domain.name).to.equal(TOKEN_NAME);
      expect(domain.version).to.equal("2");
      expect(domain.chainId).to.equal(chainId);
      expect(domain.verifyingContract).to.equal(address);
      expect(domain.salt).to.equal(ethers.ZeroHash);
      expect(domain.extensions).to.deep.equal([]);
    });

    it("supports ERC-165 for IERC165, IAccessControl and IAccessControlDefaultAdminRules only", async function () {
      const { token } = await loadFixture(deployTokenFixture);
      expect(await token.supportsInterface("0x01ffc9a7")).to.equal(true);
      expect(await token.supportsInterface(await interfaceId("IAccessControl"))).to.equal(true);
      // ERC-165 ids cover an interface's own functions: strip the inherited IAccessControl ones.
      const adminRulesId =
        BigInt(await interfaceId("IAccessControlDefaultAdminRules")) ^ BigInt(await interfaceId("IAccessControl"));
      expect(await token.supportsInterface(ethers.toBeHex(adminRulesId, 4))).to.equal(true);
      expect(await token.supportsInterface("0xffffffff")).to.equal(false);
    });
  });

  describe("transfer", function () {
    it("moves tokens and emits Transfer", async function () {
      const { token, alice, carol } = await loadFixture(deployTokenFixture);
      await expect(token.connect(alice).transfer(carol.address, usd(10)))
        .to.emit(token, "Transfer")
        .withArgs(alice.address, carol.address, usd(10));
      expect(await token.balanceOf(alice.address)).to.equal(INITIAL_BALANCE - usd(10));
      expect(await token.balanceOf(carol.address)).to.equal(usd(10));
    });

    it("reverts beyond the balance with ERC20InsufficientBalance", async function () {
      const { token, alice, carol } = await loadFixture(deployTokenFixture);
      await expect(token.connect(alice).transfer(carol.address, INITIAL_BALANCE + 1n))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientBalance")
        .withArgs(alice.address, INITIAL_BALANCE, INITIAL_BALANCE + 1n);
    });

    it("reverts to the zero address with ERC20InvalidReceiver", async function () {
      const { token, alice } = await loadFixture(deployTokenFixture);
      await expect(token.connect(alice).transfer(ethers.ZeroAddress, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InvalidReceiver")
        .withArgs(ethers.ZeroAddress);
    });
  });

  describe("approve and transferFrom", function () {
    it("approve sets the allowance and emits Approval", async function () {
      const { token, alice, carol } = await loadFixture(deployTokenFixture);
      await expect(token.connect(alice).approve(carol.address, usd(5)))
        .to.emit(token, "Approval")
        .withArgs(alice.address, carol.address, usd(5));
      expect(await token.allowance(alice.address, carol.address)).to.equal(usd(5));
    });

    it("approve to the zero spender reverts with ERC20InvalidSpender", async function () {
      const { token, alice } = await loadFixture(deployTokenFixture);
      await expect(token.connect(alice).approve(ethers.ZeroAddress, 1n))
        .to.be.revertedWithCustomError(token, "ERC20InvalidSpender")
        .withArgs(ethers.ZeroAddress);
    });

    it("transferFrom spends the allowance and moves tokens", async function () {
      const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
      await token.connect(alice).approve(carol.address, usd(5));
      await expect(token.connect(carol).transferFrom(alice.address, bob.address, usd(2)))
        .to.emit(token, "Transfer")
        .withArgs(alice.address, bob.address, usd(2));
      expect(await token.allowance(alice.address, carol.address)).to.equal(usd(3));
      expect(await token.balanceOf(bob.address)).to.equal(INITIAL_BALANCE + usd(2));
    });

    it("an infinite allowance is not decreased", async function () {
      const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
      await token.connect(alice).approve(carol.address, ethers.MaxUint256);
      await token.connect(carol).transferFrom(alice.address, bob.address, usd(2));
      expect(await token.allowance(alice.address, carol.address)).to.equal(ethers.MaxUint256);
    });

    it("transferFrom beyond the allowance reverts with ERC20InsufficientAllowance", async function () {
      const { token, alice, bob, carol } = await loadFixture(deployTokenFixture);
      await token.connect(alice).approve(carol.address, usd(1));
      await expect(token.connect(carol).transferFrom(alice.address, bob.address, usd(2)))
        .to.be.revertedWithCustomError(token, "ERC20InsufficientAllowance")
        .withArgs(carol.address, usd(1), usd(2));
    });
  });
});
